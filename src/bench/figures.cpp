#include "figures.h"

#include <cmath>
#include <filesystem>

#include "modeldna/core/json_file.h"
#include "modeldna/report/svg_chart.h"
#include "modeldna/metrics/metrics.h"

namespace modeldna::bench {
namespace {

// Mean over probes of the cosine similarity of two models' DNAs.
double dna_similarity(evidence::MgmpEvidence& mgmp, const evidence::ModelOutputs& a, const evidence::ModelOutputs& b) {
  const auto& det = mgmp.detector();
  return torch::cosine_similarity(det.dna(mgmp.outputs(a)), det.dna(mgmp.outputs(b)), 1).mean().item<double>();
}

report::Bar mean_bar(const std::string& label, const std::vector<double>& v) {
  double m = 0, s = 0;
  for (double x : v) m += x;
  m = v.empty() ? std::nan("") : m / static_cast<double>(v.size());
  for (double x : v) s += (x - m) * (x - m);
  const double sd = v.size() > 1 ? std::sqrt(s / static_cast<double>(v.size() - 1)) : 0.0;
  return {label, m, sd, sd, ""};
}

// Figures 1 and 5: DNA similarity of the source with a scratch target, the
// same target with its last 1-3 layers replaced by the source's, and a random
// model with the source's last 3 layers trained on, per architecture family.
std::string layer_replacement_figure(const FigureInput& in) {
  const auto& manifest = in.zoo.manifest();
  const std::vector<std::pair<std::string, std::string>> categories = {
      {"no layer replaced", "scratch"},  {"last 1 replaced", "replace-last-1"},
      {"last 2 replaced", "replace-last-2"}, {"last 3 replaced", "replace-last-3"},
      {"random init + last 3", "random-replace-3"}};
  std::map<std::string, std::vector<std::vector<double>>> samples;  // family -> category -> similarities
  for (const auto* source : manifest.sources()) {
    if (!in.mgmp->cannot_compare(in.observed->at(source->id)).empty()) continue;
    auto& family = samples[source->arch.value("arch", "?")];
    family.resize(categories.size());
    for (size_t c = 0; c < categories.size(); ++c) {
      const std::string& relation = categories[c].second;
      for (const auto& m : manifest.models) {
        if (m.split != "test" || zoo::derivation_label(m) != relation) continue;
        const bool belongs = relation == "scratch" ? m.arch == source->arch : m.root == source->id;
        if (belongs)
          family[c].push_back(dna_similarity(*in.mgmp, in.observed->at(source->id), in.observed->at(m.id)));
      }
    }
  }
  std::vector<report::BarGroup> groups;
  for (const auto& [family, per_category] : samples) {
    report::BarGroup group{family, {}};
    for (size_t c = 0; c < categories.size(); ++c) group.bars.push_back(mean_bar(categories[c].first, per_category[c]));
    groups.push_back(group);
  }
  report::ChartOptions opt;
  opt.title = "Figures 1 and 5: DNA similarity with the source under layer replacement";
  opt.y_label = "cosine similarity of DNAs (mean over probes)";
  opt.width = 900;
  return report::bar_chart(groups, opt);
}

// Figures 3 and 4: the DNA space in 2-D (PCA) for the first source: its DNA
// (red), its fine-tuned targets' (yellow), the scratch targets' (blue).
std::string dna_space_figure(const FigureInput& in, const zoo::ZooModel& source) {
  const auto& manifest = in.zoo.manifest();
  constexpr int64_t kProbesShown = 60;
  std::vector<std::pair<int, torch::Tensor>> groups;  // (0 source, 1 homologous, 2 non-homologous), DNAs
  auto dna_of = [&](const std::string& id) {
    return in.mgmp->detector().dna(in.mgmp->outputs(in.observed->at(id))).slice(0, 0, kProbesShown);
  };
  groups.emplace_back(0, dna_of(source.id));
  for (const auto& m : manifest.models) {
    if (m.split != "test" || m.task == source.task) continue;
    if (m.relation == zoo::Derivation::Finetune && m.parent == source.id) groups.emplace_back(1, dna_of(m.id));
    if (m.relation == zoo::Derivation::Scratch && m.arch == source.arch) groups.emplace_back(2, dna_of(m.id));
  }
  std::vector<torch::Tensor> all;
  for (const auto& g : groups) all.push_back(g.second);
  auto x = torch::cat(all).to(torch::kFloat64);
  x = x - x.mean(0, true);
  const auto v = std::get<2>(torch::svd(x));  // principal directions
  const auto projected = x.matmul(v.slice(1, 0, 2));
  std::vector<report::Series> series = {{"source " + source.id, "#d62728", {}, {}},
                                        {"homologous (fine-tuned)", "#e6b800", {}, {}},
                                        {"non-homologous (scratch)", "#1f77b4", {}, {}}};
  int64_t row = 0;
  for (const auto& [kind, dna] : groups) {
    for (int64_t i = 0; i < dna.size(0); ++i, ++row) {
      series[kind].x.push_back(projected[row][0].item<double>());
      series[kind].y.push_back(projected[row][1].item<double>());
    }
  }
  report::ChartOptions opt;
  opt.title = "Figures 3 and 4: DNA space (PCA), " + std::to_string(kProbesShown) + " probes per model";
  opt.x_label = "principal component 1";
  opt.y_label = "principal component 2";
  return report::scatter_chart(series, opt);
}

std::string roc_figure(const FigureInput& in, const std::string& relation) {
  std::vector<report::Series> series;
  for (const auto& name : in.detectors) {
    const auto s = metrics::against(in.derived.at(name).at(relation), in.negatives.at(name).at("scratch"));
    report::Series line{name + " (AUC " + metrics::format_metric(metrics::roc_auc(s)) + ")", "", {}, {}};
    for (const auto& [fpr, tpr] : metrics::roc_curve(s)) {
      line.x.push_back(fpr);
      line.y.push_back(tpr);
    }
    series.push_back(line);
  }
  report::ChartOptions opt;
  opt.title = "ROC: " + relation + " vs scratch";
  opt.x_label = "false-positive rate";
  opt.y_label = "true-positive rate";
  opt.x_min = 0, opt.x_max = 1, opt.y_min = 0, opt.y_max = 1;
  opt.diagonal = true;
  return report::line_chart(series, opt);
}

}  // namespace

nlohmann::json draw_figures(const FigureInput& in, const std::string& out_dir) {
  const auto dir = std::filesystem::path(out_dir) / "figures";
  make_directories(dir);
  nlohmann::json written = nlohmann::json::array();
  auto write = [&](const std::string& name, const std::string& svg) {
    report::write_svg((dir / name).string(), svg);
    written.push_back("figures/" + name);
  };
  for (const auto& relation : in.relations) {
    if (in.negatives.at(in.detectors.front()).count("scratch") == 0) break;
    std::string file = relation;
    for (char& c : file)
      if (c == ' ') c = '-';
    write("roc-" + file + ".svg", roc_figure(in, relation));
  }
  if (in.mgmp) {
    write("dna-similarity-layer-replacement.svg", layer_replacement_figure(in));
    for (const auto* source : in.zoo.manifest().sources()) {
      if (!in.mgmp->cannot_compare(in.observed->at(source->id)).empty()) continue;
      std::string file = "dna-space-" + source->id + ".svg";
      write(file, dna_space_figure(in, *source));
    }
  }
  return written;
}

}  // namespace modeldna::bench
