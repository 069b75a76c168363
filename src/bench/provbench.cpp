#include "modeldna/bench/provbench.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>

#include "calibration.h"
#include "figures.h"
#include "modeldna/evidence/mgmp_evidence.h"
#include "modeldna/core/error.h"
#include "modeldna/core/json_file.h"
#include "modeldna/metrics/metrics.h"
#include "modeldna/zoo/zoo_models.h"

namespace modeldna::bench {

using metrics::format_metric;
namespace {

using Clock = std::chrono::steady_clock;

std::vector<std::unique_ptr<evidence::Detector>> make_detectors(const BenchOptions& o) {
  const evidence::DetectorOptions options{o.mgmp_detector_dir};
  std::vector<std::unique_ptr<evidence::Detector>> out;
  for (const auto& n : o.detectors.empty() ? evidence::available_detector_names(options) : o.detectors)
    out.push_back(evidence::make_detector(n, options));
  return out;
}

}  // namespace

BenchResult run_bench(const BenchOptions& o, const std::function<void(const std::string&)>& log) {
  auto say = [&](const std::string& line) {
    if (log) log(line);
  };
  zoo::ZooModels zoo(o.zoo_dir);
  const auto& manifest = zoo.manifest();
  auto detectors = make_detectors(o);
  const auto probes = evidence::make_probe_set(zoo.load_task(zoo.source_task()).train, o.probes, o.seed);

  // Every model observed once on the shared probe set.
  std::map<std::string, evidence::ModelOutputs> observed;
  const auto observe_start = Clock::now();
  for (const auto& m : manifest.models)
    observed.emplace(m.id, evidence::observe(m.id, zoo.get(m.id), probes, zoo.store(m.id)));
  const double forward_ms =
      std::chrono::duration<double, std::milli>(Clock::now() - observe_start).count() / static_cast<double>(manifest.models.size());
  say("observed " + std::to_string(manifest.models.size()) + " models on " + std::to_string(3 * o.probes) +
      " probes (" + format_metric(forward_ms) + " ms each)");

  std::vector<std::string> names;
  for (const auto& d : detectors) names.push_back(d->name());
  // detector -> scores; calibration on the training split, tests per relation.
  std::map<std::string, metrics::LabelledScores> calibration;
  // detector -> relation -> derived pairs; detector -> kind -> independent
  // pairs. A pair a detector cannot compare is an abstention, never a number.
  std::map<std::string, std::map<std::string, metrics::LabelledScores>> derived;
  std::map<std::string, std::map<std::string, metrics::LabelledScores>> negatives;
  std::map<std::string, double> compare_ms;
  std::map<std::string, int64_t> not_applicable, compared;
  nlohmann::json pairs = nlohmann::json::array();

  for (const auto* source : manifest.sources()) {
    say("scoring pairs of source " + source->id);
    // The reference panel: models trained on the source's task independently
    // of it (the other sources and their students), the target left out.
    std::vector<const zoo::ZooModel*> panel;
    for (const auto& m : manifest.models)
      if (m.task == source->task && m.root != source->id && m.id != source->id) panel.push_back(&m);
    for (const auto& m : manifest.models) {
      if (m.id == source->id) continue;
      std::vector<const evidence::ModelOutputs*> references;
      for (const auto* r : panel)
        if (r->id != m.id) references.push_back(&observed.at(r->id));
      const bool is_derived = m.root == source->id;
      std::string bucket;  // calibration: "calib+"/"calib-"; test: relation or negative kind
      if (m.split == "train") {
        if (is_derived && m.relation == zoo::Derivation::Finetune) bucket = "calib+";
        else if (m.relation == zoo::Derivation::Scratch) bucket = "calib-";
        else continue;
      } else {
        bucket = is_derived ? zoo::derivation_label(m) : (m.relation == zoo::Derivation::Scratch ? "scratch" : "other lineages");
      }
      nlohmann::json scores, details;
      for (auto& det : detectors) {
        const auto start = Clock::now();
        const auto ev = det->compare(probes, observed.at(source->id), observed.at(m.id), references);
        compare_ms[det->name()] += std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        ++compared[det->name()];
        if (ev.applicable && !std::isfinite(ev.score))
          throw InternalError("detector " + det->name() + " gave a non-finite score to (" + source->id + ", " + m.id +
                              ") and called it applicable");
        const std::optional<double> score = ev.applicable ? std::optional<double>(ev.score) : std::nullopt;
        if (!score) ++not_applicable[det->name()];
        scores[det->name()] = score ? nlohmann::json(*score) : nlohmann::json(nullptr);
        details[det->name()] = ev.details;
        if (bucket == "calib+") calibration[det->name()].add(true, score);
        else if (bucket == "calib-") calibration[det->name()].add(false, score);
        else if (is_derived) {
          derived[det->name()][bucket].add(true, score);
          derived[det->name()]["all derived"].add(true, score);
        } else {
          negatives[det->name()][bucket].add(false, score);
        }
      }
      pairs.push_back({{"source", source->id}, {"target", m.id}, {"relation", zoo::derivation_label(m)},
                       {"split", m.split}, {"derived", is_derived}, {"bucket", bucket}, {"scores", scores},
                       {"details", details}});
    }
  }

  // Metrics per detector, relation and kind of negative.
  nlohmann::json rows = nlohmann::json::array();
  std::map<std::string, double> thresholds;
  for (const auto& name : names) thresholds[name] = metrics::best_threshold(calibration[name]);
  std::vector<std::string> relations;
  for (const auto& [relation, scores] : derived[names.front()]) relations.push_back(relation);

  std::ostringstream md;
  md << "Pairs: every (source, model) of the zoo; thresholds calibrated on the training split "
     << "(finetune vs scratch on the training tasks), scored on held-out pairs only. "
     << "Cells: ROC AUC / TPR at 1% FPR / accuracy at the calibrated threshold. A pair a detector cannot "
     << "compare is an abstention: counted, called not derived, ranked below every score.\n";
  for (const std::string kind : {"scratch", "other lineages"}) {
    md << "\n**Derived vs " << kind << "**\n\n| relation | #derived | #negatives |";
    for (const auto& n : names) md << " " << n << " |";
    md << "\n|---|---|---|";
    for (size_t i = 0; i < names.size(); ++i) md << "---|";
    md << "\n";
    for (const auto& relation : relations) {
      const auto counted = metrics::against(derived[names.front()][relation], negatives[names.front()][kind]);
      md << "| " << relation << " | " << counted.positive.size() + counted.positive_abstained << " | "
         << counted.negative.size() + counted.negative_abstained << " |";
      for (const auto& name : names) {
        const auto s = metrics::against(derived[name][relation], negatives[name][kind]);
        const double auc = metrics::roc_auc(s), tpr = metrics::tpr_at_fpr(s, 0.01);
        const double acc = metrics::accuracy_at(s, thresholds[name]);
        rows.push_back({{"detector", name}, {"relation", relation}, {"negatives", kind},
                        {"positives_count", s.positive.size() + s.positive_abstained},
                        {"negatives_count", s.negative.size() + s.negative_abstained},
                        {"positives_abstained", s.positive_abstained}, {"negatives_abstained", s.negative_abstained},
                        {"auc", auc}, {"tpr_at_1pct_fpr", tpr}, {"accuracy", acc}});
        md << " " << format_metric(auc) << " / " << format_metric(tpr) << " / " << format_metric(acc) << " |";
      }
      md << "\n";
    }
  }
  md << "\n| detector | reference | threshold | mean compare time per pair (ms) | pairs without evidence |\n"
     << "|---|---|---|---|---|\n";
  nlohmann::json detector_info = nlohmann::json::array();
  for (const auto& det : detectors) {
    const auto& n = det->name();
    const double ms = compare_ms[n] / static_cast<double>(std::max<int64_t>(1, compared[n]));
    detector_info.push_back({{"name", n}, {"reference", det->reference()}, {"threshold", thresholds[n]},
                             {"compare_ms", ms}, {"not_applicable", not_applicable[n]}, {"pairs", compared[n]}});
    md << "| " << n << " | " << det->reference() << " | " << format_metric(thresholds[n]) << " | " << format_metric(ms) << " | "
       << not_applicable[n] << " of " << compared[n] << " |\n";
  }
  md << "\nEach model's forward pass on the " << 3 * o.probes << " shared probes took " << format_metric(forward_ms)
     << " ms on average (once per model, shared by the black-box detectors; MGMP observes its own "
     << "recorded probes once per model).\n";

  nlohmann::json calibration_json;
  if (std::find(names.begin(), names.end(), "compare") != names.end()) {
    say("measuring compare's false-positive rate on independent pairs");
    auto c = calibrate_compare(zoo, observed, o.fresh_networks, o.seed, o.out_dir);
    md << c.markdown;
    calibration_json = c.json;
  }

  BenchResult result{{{"zoo", o.zoo_dir}, {"probes", o.probes}, {"seed", o.seed}, {"forward_ms", forward_ms},
                      {"detectors", detector_info}, {"rows", rows}, {"pairs", pairs},
                      {"compare_calibration", calibration_json}},
                     md.str()};
  if (!o.out_dir.empty()) {
    make_directories(o.out_dir);
    FigureInput input{zoo, names, derived, negatives, relations};
    for (auto& det : detectors)
      if (auto* mgmp = dynamic_cast<evidence::MgmpEvidence*>(det.get())) input.mgmp = mgmp;
    input.observed = &observed;
    const auto figures = draw_figures(input, o.out_dir);
    result.json["figures"] = figures;
    result.markdown += "\nFigures:";
    for (const auto& f : figures) result.markdown += " [" + f.get<std::string>() + "](" + f.get<std::string>() + ")";
    result.markdown += "\n";
    write_json_file((std::filesystem::path(o.out_dir) / "bench.json").string(), result.json);
    write_file_atomically((std::filesystem::path(o.out_dir) / "bench.md").string(), result.markdown);
  }
  return result;
}

}  // namespace modeldna::bench
