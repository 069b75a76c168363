// "modeldiff": Li et al., "ModelDiff: Testing-Based DNN Similarity Comparison
// for Model Reuse Detection", ISSTA 2021.
//
// Each model gets a decision-distance vector (DDV): DDV_i is the cosine
// distance between the model's own outputs on the two inputs of pair i. The
// score is the cosine similarity of the two DDVs. Because a DDV only compares
// a model with itself, the two models may have different output sizes.
// As in the authors' code the outputs are raw logits and the DDVs are compared
// with plain cosine (their L2 normalisation does not change it).
//
// Simplified: the paper searches its input pairs (gradient steps that make
// the pairs diverse and close to the decision boundary, seeded from both
// models' data); we use the probe set's fixed pairs (clean_i, clean_i plus
// Gaussian noise), so no gradients are needed and the pairs are shared by
// every comparison with the same source.
#include "detectors.h"

namespace modeldna::evidence {
namespace {

torch::Tensor decision_distance_vector(const ModelOutputs& model, int64_t n) {
  return 1.0 - (detail::unit_rows(model.clean(n)) * detail::unit_rows(model.noisy(n))).sum(1);
}

class ModelDiff : public Detector {
 public:
  std::string name() const override { return "modeldiff"; }
  std::string reference() const override {
    return "ModelDiff decision-distance vectors (Li et al., ISSTA 2021), noisy pairs instead of searched ones";
  }

  Evidence compare(const ProbeSet& probes, const ModelOutputs& source, const ModelOutputs& target) override {
    detail::check_observed(probes, source);
    detail::check_observed(probes, target);
    const int64_t n = probes.size();
    const auto ddv_s = decision_distance_vector(source, n), ddv_t = decision_distance_vector(target, n);
    const double similarity = detail::cosine(ddv_s, ddv_t);
    // The DDVs are non-negative, so plain cosine has a high floor; the
    // centred one (Pearson correlation) shows how much of it is shape.
    const double centred = detail::cosine(ddv_s - ddv_s.mean(), ddv_t - ddv_t.mean());

    Evidence e;
    e.score = similarity;
    e.details = {{"ddv_cosine", similarity},
                 {"ddv_correlation", centred},
                 {"source_mean_distance", ddv_s.mean().item<double>()},
                 {"target_mean_distance", ddv_t.mean().item<double>()},
                 {"pairs", n}};
    return e;
  }
};

}  // namespace

std::unique_ptr<Detector> make_modeldiff() { return std::make_unique<ModelDiff>(); }

}  // namespace modeldna::evidence
