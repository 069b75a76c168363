// "compare": modeldna's own verdict as a detector (docs/compare.md): the
// calibrated white-box test on the two models' files, fused with the
// behavioural evidence when both run. Its score is -log10 of the p-value of
// "independent of the source", so thresholds are significance levels.
#include <cmath>

#include "detectors.h"
#include "modeldna/compare/compare.h"
#include "modeldna/evidence/behaviour.h"

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

  Evidence compare(const ProbeSet& probes, const ModelOutputs& source, const ModelOutputs& target,
                   const std::vector<const ModelOutputs*>& references) override {
    if (!source.store || !target.store) return detail::not_applicable("needs both models' files");
    compare::CompareOptions options;
    auto result = compare::compare_weights(*source.store, *target.store, options);
    if (source.logits.defined() && target.logits.defined())
      compare::fuse(result, behavioural_evidence(probes, source, target, references), options);
    Evidence e;
    // The same tensors bit for bit are the strongest evidence there is, whatever
    // p-value the sampled test reaches on them.
    e.score = result.relation == compare::Relation::Identical ? kCap : std::min(kCap, -result.log10_p);
    e.details = {{"verdict", compare::verdict_name(result.verdict)},
                 {"relation", compare::relation_name(result.relation)},
                 {"log10_p", result.log10_p},
                 {"log10_p_white_box", result.log10_p_white_box},
                 {"decided_by", result.decided_by},
                 {"tested_layers", result.tested_layers}};
    if (result.black_box.available) {
      e.details["behavioural_similarity"] = result.black_box.score;
      for (const char* key : {"js_similarity_t4", "logit_correlation"})
        if (result.black_box.signals.contains(key)) e.details[key] = result.black_box.signals[key];
      e.details["log10_p_black_box"] = result.black_box.log10_p ? nlohmann::json(*result.black_box.log10_p) : nlohmann::json(nullptr);
    }
    return e;
  }
};

}  // namespace

std::unique_ptr<Detector> make_compare() { return std::make_unique<CompareDetector>(); }

}  // namespace modeldna::evidence
