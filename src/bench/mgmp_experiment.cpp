#include "modeldna/bench/mgmp_experiment.h"

#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "modeldna/core/error.h"
#include "modeldna/metrics/metrics.h"

namespace modeldna::bench {

using dna::MgmpDetector;
using dna::TrainingGroup;

using metrics::format_metric;

std::vector<TrainingGroup> mgmp_training_groups(zoo::ZooModels& zoo, const std::vector<std::string>& sources) {
  std::vector<TrainingGroup> groups;
  for (const auto& id : sources) {
    TrainingGroup g;
    g.source_id = id;
    g.source = zoo.get(id);
    for (const auto& [homologous, scratch] : zoo.matched_pairs(id, zoo.manifest().train_tasks)) {
      g.homologous.emplace_back(homologous->id, zoo.get(homologous->id));
      g.non_homologous.emplace_back(scratch->id, zoo.get(scratch->id));
    }
    MDNA_CHECK(!g.homologous.empty(), "source '" + id + "' has no finetune/scratch pairs on the training tasks");
    groups.push_back(std::move(g));
  }
  return groups;
}

MgmpEvaluation evaluate_mgmp(const MgmpDetector& detector, zoo::ZooModels& zoo) {
  const auto& manifest = zoo.manifest();
  std::set<std::string> seen;
  for (const auto& g : detector.record().value("trained_on", nlohmann::json::array()))
    seen.insert(g.at("source").get<std::string>());

  std::map<std::string, torch::Tensor> logits;  // each model observed once
  auto observe = [&](const std::string& id) -> const torch::Tensor& {
    auto it = logits.find(id);
    if (it == logits.end()) it = logits.emplace(id, detector.observe(*zoo.get(id))).first;
    return it->second;
  };
  // Models whose inputs or outputs differ from the detector's (a language
  // model's vocabulary, another modality) are outside what MGMP can compare.
  auto comparable = [&](const zoo::ZooModel& m) { return detector.cannot_read(*zoo.get(m.id)).empty(); };

  nlohmann::json pairs = nlohmann::json::array();
  nlohmann::json per_probe = nlohmann::json::array();
  // group -> relation -> derived scores; negatives pooled per group.
  std::map<std::string, std::map<std::string, std::vector<double>>> derived_scores;
  std::map<std::string, std::vector<double>> scratch_scores, other_lineage_scores;
  // The reference's protocol: each source alone, its fine-tunes of the
  // held-out tasks against the scratch models of the same tasks.
  struct PerSource {
    std::string group;
    metrics::LabelledScores finetune_vs_scratch;
    double matched_wins = 0;  // tasks whose fine-tune outscores that task's scratch model (ties count half)
  };
  std::map<std::string, PerSource> per_source;

  for (const auto* source : manifest.sources()) {
    if (!comparable(*source)) continue;
    const std::string group = seen.count(source->id) ? "seen sources" : "held-out sources";
    const auto& source_logits = observe(source->id);

    for (const auto& [ft, scratch] : zoo.matched_pairs(source->id, manifest.test_tasks)) {
      const auto pos = detector.homologous_probability(source_logits, observe(ft->id));
      const auto neg = detector.homologous_probability(source_logits, observe(scratch->id));
      const auto acc = dna::pair_accuracy(pos, neg);
      per_probe.push_back({{"group", group}, {"source", source->id}, {"task", ft->task}, {"overall", acc.overall},
                           {"non_homologous", acc.non_homologous}, {"homologous", acc.homologous}});
      auto& mine = per_source[source->id];
      mine.group = group;
      const double ft_score = pos.mean().item<double>(), scratch_score = neg.mean().item<double>();
      mine.finetune_vs_scratch.positive.push_back(ft_score);
      mine.finetune_vs_scratch.negative.push_back(scratch_score);
      mine.matched_wins += ft_score > scratch_score ? 1.0 : ft_score == scratch_score ? 0.5 : 0.0;
    }

    for (const auto& m : manifest.models) {
      if (m.id == source->id || !comparable(m) || m.split != "test") continue;
      const auto v = detector.verdict(source_logits, observe(m.id));
      const bool derived = m.root == source->id;
      pairs.push_back({{"source", source->id}, {"target", m.id}, {"relation", zoo::derivation_label(m)},
                       {"task", m.task}, {"derived", derived}, {"score", v.probability},
                       {"vote_fraction", v.vote_fraction}, {"group", group}});
      if (derived) {
        derived_scores[group][zoo::derivation_label(m)].push_back(v.probability);
        derived_scores[group]["all derived"].push_back(v.probability);
      } else {
        (m.relation == zoo::Derivation::Scratch ? scratch_scores : other_lineage_scores)[group].push_back(v.probability);
      }
    }
  }

  // Each relation against scratch models; all derived against other lineages too.
  std::vector<std::tuple<std::string, std::string, std::string, metrics::LabelledScores>> rows;
  for (const auto& [group, relations] : derived_scores) {
    for (const auto& [relation, positive] : relations)
      rows.emplace_back(group, relation, "scratch", metrics::LabelledScores{positive, scratch_scores[group]});
    rows.emplace_back(group, "all derived", "other lineages",
                      metrics::LabelledScores{relations.at("all derived"), other_lineage_scores[group]});
  }

  std::ostringstream md;
  md << "Per-probe accuracy (the paper's metric) on held-out target tasks:\n\n"
     << "| sources | source | task | overall | non-homologous | homologous |\n|---|---|---|---|---|---|\n";
  for (const auto& r : per_probe)
    md << "| " << r["group"].get<std::string>() << " | " << r["source"].get<std::string>() << " | "
       << r["task"].get<std::string>() << " | " << format_metric(r["overall"]) << " | " << format_metric(r["non_homologous"]) << " | "
       << format_metric(r["homologous"]) << " |\n";

  nlohmann::json model_level = nlohmann::json::array();
  md << "\nModel-level (score = mean P(homologous) over " << detector.probes().size(0)
     << " probes; derived iff score >= 0.5) on held-out targets:\n\n"
     << "| sources | relation | negatives | #derived | #negatives | accuracy | ROC AUC | TPR@1%FPR |\n"
     << "|---|---|---|---|---|---|---|---|\n";
  for (const auto& [group, relation, against, scores] : rows) {
    const double acc = metrics::accuracy_at(scores, 0.5);
    const double auc = metrics::roc_auc(scores);
    const double tpr = metrics::tpr_at_fpr(scores, 0.01);
    model_level.push_back({{"group", group}, {"relation", relation}, {"against", against},
                           {"positives", scores.positive.size()}, {"negatives", scores.negative.size()},
                           {"accuracy", acc}, {"auc", auc}, {"tpr_at_1pct_fpr", tpr}});
    md << "| " << group << " | " << relation << " | " << against << " | " << scores.positive.size() << " | "
       << scores.negative.size() << " | " << format_metric(acc) << " | " << format_metric(auc) << " | " << format_metric(tpr) << " |\n";
  }
  nlohmann::json sources_alone = nlohmann::json::array();
  md << "\nPer source, finetune vs scratch on the held-out tasks (the reference's protocol; matched: tasks "
        "whose fine-tune outscores that task's scratch model):\n\n"
     << "| sources | source | pairs | accuracy | ROC AUC | matched |\n|---|---|---|---|---|---|\n";
  for (const auto& [id, mine] : per_source) {
    const auto& scores = mine.finetune_vs_scratch;
    const double acc = metrics::accuracy_at(scores, 0.5), auc = metrics::roc_auc(scores);
    const double matched = mine.matched_wins / static_cast<double>(scores.positive.size());
    sources_alone.push_back({{"group", mine.group}, {"source", id}, {"pairs", scores.positive.size()},
                             {"accuracy", acc}, {"auc", auc}, {"matched", matched}});
    md << "| " << mine.group << " | " << id << " | " << scores.positive.size() << " | " << format_metric(acc) << " | "
       << format_metric(auc) << " | " << format_metric(matched) << " |\n";
  }
  // How well the detector fits its own training pairs on probes it never
  // trained on: underfitting versus a failure to transfer to new tasks.
  std::map<std::string, std::vector<const nlohmann::json*>> fit_by_source;
  const auto& fit = detector.record().value("training_pairs_on_verify_probes", nlohmann::json::array());
  for (const auto& row : fit) fit_by_source[row.at("source").get<std::string>()].push_back(&row);
  nlohmann::json training_fit = nlohmann::json::array();
  if (!fit_by_source.empty())
    md << "\nThe training pairs on the recorded verification probes (never trained on), per-probe accuracy:\n\n"
       << "| source | training pairs | overall | non-homologous | homologous |\n|---|---|---|---|---|\n";
  for (const auto& [id, entries] : fit_by_source) {
    double overall = 0, non_homologous = 0, homologous = 0;
    for (const auto* r : entries) {
      overall += r->at("overall").get<double>();
      non_homologous += r->at("non_homologous_accuracy").get<double>();
      homologous += r->at("homologous_accuracy").get<double>();
    }
    const auto n = static_cast<double>(entries.size());
    training_fit.push_back({{"source", id}, {"pairs", entries.size()}, {"overall", overall / n},
                            {"non_homologous", non_homologous / n}, {"homologous", homologous / n}});
    md << "| " << id << " | " << entries.size() << " | " << format_metric(overall / n) << " | "
       << format_metric(non_homologous / n) << " | " << format_metric(homologous / n) << " |\n";
  }
  return {{{"per_probe", per_probe}, {"model_level", model_level}, {"per_source", sources_alone},
           {"training_fit", training_fit}, {"pairs", pairs},
           {"settings", detector.settings().to_json()}},
          md.str()};
}

}  // namespace modeldna::bench
