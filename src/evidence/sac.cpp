// "sac": Guan, Liang, He, "Are You Stealing My Model? Sample Correlation for
// Fingerprinting Deep Neural Networks", NeurIPS 2022, variant SAC-m.
//
// Each model's outputs on the CutMix probes give an n x n matrix of cosine
// similarities between every two samples; the distance between two models is
// the mean absolute difference of their matrices (L1 / n^2). Only each
// model's own outputs meet, so output sizes may differ. score = -distance.
//
// Differences from the authors' code: we correlate softmax outputs (their
// code uses raw logits: reported in details as "distance_logits"), and our
// CutMix boxes cover 30-70% of the image instead of a fixed 20% box near the
// border (see make_probe_set).
#include <torch/nn/functional/activation.h>

#include "detectors.h"

namespace modeldna::evidence {
namespace {

torch::Tensor correlation_matrix(const torch::Tensor& outputs) {
  const auto unit = detail::unit_rows(outputs);
  return unit.mm(unit.t());
}

double matrix_distance(const torch::Tensor& a, const torch::Tensor& b) {
  return (correlation_matrix(a) - correlation_matrix(b)).abs().mean().item<double>();
}

class Sac : public Detector {
 public:
  std::string name() const override { return "sac"; }
  std::string reference() const override {
    return "SAC-m sample correlation on CutMix probes (Guan et al., NeurIPS 2022)";
  }

  Evidence compare(const ProbeSet& probes, const ModelOutputs& source, const ModelOutputs& target) override {
    detail::check_observed(probes, source);
    detail::check_observed(probes, target);
    const int64_t n = probes.size();
    const auto s = source.cutmix(n).to(torch::kFloat64), t = target.cutmix(n).to(torch::kFloat64);
    const double distance = matrix_distance(torch::softmax(s, 1), torch::softmax(t, 1));

    Evidence e;
    e.score = -distance;
    e.details = {{"distance", distance}, {"distance_logits", matrix_distance(s, t)}, {"probes", n}};
    return e;
  }
};

}  // namespace

std::unique_ptr<Detector> make_sac() { return std::make_unique<Sac>(); }

}  // namespace modeldna::evidence
