// "compare": modeldna's own verdict as a detector (docs/compare.md): the
// calibrated white-box test on the two models' files, fused with the
// behavioural evidence when both run. Its score is -log10 of the p-value of
// "independent of the source", so thresholds are significance levels.
#include <cmath>

#include "detectors.h"
#include "modeldna/compare/compare.h"
#include "modeldna/compare/compare_files.h"
#include "modeldna/evidence/model_behaviour.h"

namespace modeldna::evidence {
namespace {

// A p-value below 10^-kCap means certainty for a ranking; beyond it every
// derived pair ties at the cap, which keeps the score finite.
constexpr double kCap = 1000;

class CompareDetector : public Detector {
 public:
  std::string name() const override { return "compare"; }
  std::string reference() const override {
    return "modeldna compare: calibrated unit-alignment test on the weights (cf. Zhu et al., ICML 2025) + behaviour vs a reference panel";
  }

  Evidence compare(const ProbeSet& probes, const ModelOutputs& source, const ModelOutputs& target) override {
    return compare(probes, source, target, {});
  }

  Evidence compare(const ProbeSet&, const ModelOutputs& source, const ModelOutputs& target,
                   const std::vector<const ModelOutputs*>& references) override {
    if (!source.store || !target.store) return detail::not_applicable("needs both models' files");
    // What the CLI runs: compare_stores with the CLI's defaults and probes
    // (the bench's own probe set is not used), references from their files.
    compare::CompareFilesOptions options;
    options.black_box = source.logits.defined() && target.logits.defined();
    std::vector<compare::StorePtr> reference_stores;
    for (const ModelOutputs* r : references)
      if (r && r->store) reference_stores.push_back(r->store);
    auto result = compare::compare_stores(source.store, target.store, reference_stores, options, &behaviour_);
    Evidence e;
    // The same tensors bit for bit are the strongest evidence there is, whatever
    // p-value the sampled test reaches on them.
    e.score = result.relation == compare::Relation::Identical ? kCap : std::min(kCap, -result.log10_p);
    e.details = {{"verdict", compare::verdict_name(result.verdict)},
                 {"relation", compare::relation_name(result.relation)},
                 {"log10_p", result.log10_p},
                 {"log10_p_white_box", result.log10_p_white_box},
                 {"decided_by", compare::decided_by_name(result.decided_by)},
                 {"tested_layers", result.tested_layers}};
    if (result.black_box.available) {
      e.details["behavioural_similarity"] = result.black_box.score;
      for (const char* key : {"js_similarity_t4", "logit_correlation"})
        if (result.black_box.signals.contains(key)) e.details[key] = result.black_box.signals[key];
      e.details["log10_p_black_box"] = result.black_box.log10_p ? nlohmann::json(*result.black_box.log10_p) : nlohmann::json(nullptr);
    }
    return e;
  }

 private:
  ModelBehaviour behaviour_;  // each model run once per bench
};

}  // namespace

std::unique_ptr<Detector> make_compare() { return std::make_unique<CompareDetector>(); }

}  // namespace modeldna::evidence
