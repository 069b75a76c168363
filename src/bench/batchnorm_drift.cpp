#include "modeldna/bench/batchnorm_drift.h"

#include <map>
#include <sstream>

#include "modeldna/compare/assignment.h"
#include "modeldna/core/error.h"
#include "modeldna/nn/train.h"
#include "modeldna/metrics/metrics.h"

namespace modeldna::bench {
namespace {

bool trained_from_source(zoo::Derivation r) {
  return r == zoo::Derivation::Finetune || r == zoo::Derivation::FinetuneLastK;
}

}  // namespace

// A target trained on permuted labels or on digits answers in other names;
// what matters is whether it still sorts the source's images as the source does.
double renamed_agreement(const torch::Tensor& target_logits, const torch::Tensor& source_logits) {
  MDNA_CHECK(target_logits.dim() == 2 && target_logits.sizes() == source_logits.sizes() && target_logits.size(0) > 0,
             "agreement needs two [inputs, classes] logits of one shape");
  const int64_t classes = target_logits.size(1);
  const auto t = target_logits.argmax(1), s = source_logits.argmax(1);
  const auto counts = torch::zeros({classes * classes}, torch::kFloat64)
                          .index_add_(0, t * classes + s, torch::ones({t.size(0)}, torch::kFloat64));
  std::vector<double> cost(static_cast<std::size_t>(classes * classes));
  for (int64_t i = 0; i < classes * classes; ++i) cost[static_cast<std::size_t>(i)] = -counts[i].item<double>();
  const auto names = compare::min_cost_assignment(cost, classes, classes);
  double agreeing = 0;
  for (int64_t c = 0; c < classes; ++c) agreeing -= cost[static_cast<std::size_t>(c * classes + names[static_cast<std::size_t>(c)])];
  return agreeing / static_cast<double>(t.size(0));
}

DriftReport measure_batchnorm_drift(zoo::ZooModels& zoo, const DriftOptions& o) {
  const auto& manifest = zoo.manifest();
  MDNA_CHECK(manifest.modality == data::Modality::Image,
             "BatchNorm drift is measured on image zoos (the text architectures normalise per token, without running statistics)");
  MDNA_CHECK(o.agreement_images > 0 && o.statistics_images > 1, "the image counts must be positive");
  const auto task = zoo.load_task(zoo.source_task(), o.statistics_images, o.agreement_images);
  const auto& compare_on = task.test.inputs;
  const auto& statistics_from = task.train.inputs;

  std::map<std::string, torch::Tensor> source_logits;
  for (const auto& m : manifest.models)
    if (m.relation == zoo::Derivation::Source) source_logits[m.id] = nn::predict_logits(*zoo.get(m.id), compare_on);

  nlohmann::json rows = nlohmann::json::array();
  // A target's answers before and after re-estimation, once per target (a
  // scratch model is compared with every source of its architecture).
  struct Answers {
    torch::Tensor before, after;
    int64_t layers = 0;
  };
  std::map<std::string, Answers> answers;
  auto measure = [&](const zoo::ZooModel& target, const std::string& source) {
    auto it = answers.find(target.id);
    if (it == answers.end()) {
      auto copy = nn::clone_network(*zoo.get(target.id));
      Answers a;
      a.before = nn::predict_logits(*copy, compare_on);
      a.layers = nn::reestimate_batchnorm(*copy, statistics_from);
      a.after = nn::predict_logits(*copy, compare_on);
      it = answers.emplace(target.id, std::move(a)).first;
    }
    const auto& a = it->second;
    rows.push_back({{"target", target.id}, {"source", source}, {"arch", nn::ArchConfig::from_json(target.arch).arch},
                    {"task", target.task}, {"relation", zoo::derivation_label(target)}, {"batchnorm_layers", a.layers},
                    {"agreement", renamed_agreement(a.before, source_logits.at(source))},
                    {"agreement_reestimated", renamed_agreement(a.after, source_logits.at(source))}});
  };
  for (const auto& m : manifest.models) {
    if (trained_from_source(m.relation) && m.parent && source_logits.count(*m.parent)) measure(m, *m.parent);
    if (m.relation != zoo::Derivation::Scratch) continue;
    for (const auto& s : manifest.models)
      if (s.relation == zoo::Derivation::Source && nn::ArchConfig::from_json(s.arch) == nn::ArchConfig::from_json(m.arch))
        measure(m, s.id);
  }

  // Per (architecture, relation, task): the mean over its pairs.
  struct Cell {
    double before = 0, after = 0;
    int pairs = 0;
    int64_t layers = 0;
  };
  std::map<std::tuple<std::string, std::string, std::string>, Cell> cells;
  for (const auto& r : rows) {
    auto& c = cells[{r["arch"].get<std::string>(), r["relation"].get<std::string>(), r["task"].get<std::string>()}];
    c.before += r["agreement"].get<double>();
    c.after += r["agreement_reestimated"].get<double>();
    c.layers = r["batchnorm_layers"].get<int64_t>();
    ++c.pairs;
  }
  std::ostringstream md;
  md << "Top-1 agreement with the source (target classes renamed one-to-one to agree best) on " << compare_on.size(0) << " " << zoo.source_task()
     << " test images, as trained and after re-estimating BatchNorm statistics on " << statistics_from.size(0)
     << " of its training images (mean over pairs):\n\n"
     << "| arch | relation | task | pairs | BatchNorm layers | agreement | re-estimated |\n|---|---|---|---|---|---|---|\n";
  for (const auto& [key, c] : cells) {
    const auto& [arch, relation, task_name] = key;
    md << "| " << arch << " | " << relation << " | " << task_name << " | " << c.pairs << " | " << c.layers << " | "
       << metrics::format_metric(c.before / c.pairs) << " | " << metrics::format_metric(c.after / c.pairs) << " |\n";
  }
  return {{{"pairs", rows},
           {"agreement_images", compare_on.size(0)},
           {"statistics_images", statistics_from.size(0)},
           {"task", zoo.source_task()}},
          md.str()};
}

}  // namespace modeldna::bench
