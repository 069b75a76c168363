#include "calibration.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "modeldna/compare/compare.h"
#include "modeldna/core/json_file.h"
#include "modeldna/io/open_store.h"
#include "modeldna/nn/model_file.h"
#include "modeldna/report/svg_chart.h"
#include "modeldna/metrics/metrics.h"

namespace modeldna::bench {
namespace {

struct Pool {
  std::string kind;
  std::vector<double> log10_p;
};

double fraction_below(const std::vector<double>& log10_p, double alpha) {
  if (log10_p.empty()) return NAN;
  const double level = std::log10(alpha);
  return static_cast<double>(std::count_if(log10_p.begin(), log10_p.end(), [&](double v) { return v < level; })) /
         static_cast<double>(log10_p.size());
}

}  // namespace

CalibrationResult calibrate_compare(zoo::ZooModels& zoo, const std::map<std::string, evidence::ModelOutputs>& observed,
                                    int64_t fresh_per_arch, uint64_t seed, const std::string& out_dir) {
  const auto& manifest = zoo.manifest();
  compare::CompareOptions options;
  Pool zoo_pairs{"zoo pairs: every source against every same-architecture model not derived from it", {}};
  Pool fresh_pairs{"fresh networks: sources and fresh initialisations of their architecture", {}};
  for (const auto* source : manifest.sources())
    for (const auto& m : manifest.models) {
      if (m.id == source->id || m.root == source->id || m.arch != source->arch) continue;
      const auto r = compare::compare_weights(*observed.at(source->id).store, *observed.at(m.id).store, options);
      zoo_pairs.log10_p.push_back(r.log10_p_white_box);
    }
  // Fresh networks of each source architecture, written as model files.
  const std::string dir = (std::filesystem::temp_directory_path() / ("modeldna-fresh-" + std::to_string(seed))).string();
  make_directories(dir);
  std::map<std::string, std::vector<std::shared_ptr<const io::TensorStore>>> fresh;
  for (const auto* source : manifest.sources()) {
    const std::string key = source->arch.dump();
    if (fresh.count(key)) continue;
    const auto config = nn::ArchConfig::from_json(source->arch);
    for (int64_t i = 0; i < fresh_per_arch; ++i) {
      torch::manual_seed(seed + 7919 * static_cast<uint64_t>(i + 1));
      const std::string path = dir + "/" + config.arch + "-" + std::to_string(fresh[key].size()) + ".safetensors";
      nn::save_model(path, *nn::make_network(config));
      fresh[key].push_back(std::make_shared<io::TensorStore>(io::open_store(path)));
    }
  }
  for (const auto* source : manifest.sources())
    for (const auto& f : fresh[source->arch.dump()])
      fresh_pairs.log10_p.push_back(compare::compare_weights(*observed.at(source->id).store, *f, options).log10_p_white_box);
  for (const auto& [key, stores] : fresh)
    for (std::size_t i = 0; i < stores.size(); ++i)
      for (std::size_t j = 0; j < stores.size(); ++j)
        if (i != j) fresh_pairs.log10_p.push_back(compare::compare_weights(*stores[i], *stores[j], options).log10_p_white_box);
  std::filesystem::remove_all(dir);

  CalibrationResult out;
  std::ostringstream md;
  md << "\n**compare's false-positive rate** (white-box p-values on independent pairs; a valid test rejects at most a "
        "fraction alpha)\n\n| pairs | count | FPR at alpha 0.01 | FPR at 0.05 | smallest p |\n|---|---|---|---|---|\n";
  nlohmann::json pools = nlohmann::json::array();
  std::vector<report::Series> qq;
  for (const Pool* pool : {&zoo_pairs, &fresh_pairs}) {
    auto sorted = pool->log10_p;
    std::sort(sorted.begin(), sorted.end());
    const double smallest = sorted.empty() ? NAN : std::pow(10.0, sorted.front());
    md << "| " << pool->kind << " | " << sorted.size() << " | " << metrics::format_metric(fraction_below(sorted, 0.01))
       << " | " << metrics::format_metric(fraction_below(sorted, 0.05)) << " | " << (sorted.empty() ? "n/a" : std::to_string(smallest))
       << " |\n";
    pools.push_back({{"pairs", pool->kind}, {"count", sorted.size()}, {"fpr_at_0.01", fraction_below(sorted, 0.01)},
                     {"fpr_at_0.05", fraction_below(sorted, 0.05)}, {"log10_p", pool->log10_p}});
    report::Series s{pool == &zoo_pairs ? "zoo pairs" : "fresh networks", "", {}, {}};
    const double n = static_cast<double>(sorted.size());
    for (std::size_t i = 0; i < sorted.size(); ++i) {
      s.x.push_back(-std::log10((static_cast<double>(i) + 0.5) / n));
      s.y.push_back(-sorted[i]);
    }
    qq.push_back(std::move(s));
  }
  out.json = {{"pools", pools}};
  if (!out_dir.empty()) {
    double top = 1;
    for (const auto& s : qq)
      for (double v : s.x) top = std::max(top, v);
    report::Series diagonal{"uniform (a valid test)", "#999999", {}, {}};
    for (int i = 0; i <= 40; ++i) diagonal.x.push_back(top * i / 40), diagonal.y.push_back(top * i / 40);
    qq.push_back(std::move(diagonal));
    report::ChartOptions o;
    o.title = "compare: p-values of independent pairs against the uniform";
    o.x_label = "expected -log10 p (uniform quantiles)";
    o.y_label = "observed -log10 p";
    o.x_min = 0;
    o.y_min = 0;
    make_directories((std::filesystem::path(out_dir) / "figures").string());
    report::write_svg((std::filesystem::path(out_dir) / "figures" / "compare-qq.svg").string(), report::scatter_chart(qq, o));
    out.json["figure"] = "figures/compare-qq.svg";
    md << "\nQQ plot: [figures/compare-qq.svg](figures/compare-qq.svg)\n";
  }
  out.markdown = md.str();
  return out;
}

}  // namespace modeldna::bench
