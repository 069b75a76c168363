// "agreement": the plain black-box baseline. How often the target's top-1
// label equals the source's on clean probes, and how far apart their softmax
// outputs are (mean KL(source || target)). Label agreement is the signal
// IPGuard (Cao, Jia, Gong, AsiaCCS 2021) builds on and the "prediction
// matching rate" half of Lineage Closeness (Tang et al., AAAI 2025); unlike
// them we query ordinary training images, not points near the decision
// boundary, so independently trained accurate models agree too.
#include <torch/nn/functional/activation.h>

#include "detectors.h"

namespace modeldna::evidence {
namespace {

class OutputAgreement : public Detector {
 public:
  std::string name() const override { return "agreement"; }
  std::string reference() const override {
    return "top-1 agreement and KL divergence on clean probes (baseline; cf. IPGuard, AsiaCCS 2021)";
  }

  Evidence compare(const ProbeSet& probes, const ModelOutputs& source, const ModelOutputs& target) override {
    detail::check_observed(probes, source);
    detail::check_observed(probes, target);
    const int64_t n = probes.size();
    const auto s = source.clean(n).to(torch::kFloat64), t = target.clean(n).to(torch::kFloat64);
    if (s.size(1) != t.size(1))
      return detail::not_applicable("output sizes differ (" + std::to_string(s.size(1)) + " and " +
                                    std::to_string(t.size(1)) + " classes)");

    const double agreement = s.argmax(1).eq(t.argmax(1)).to(torch::kFloat64).mean().item<double>();
    const auto log_s = torch::log_softmax(s, 1), log_t = torch::log_softmax(t, 1);
    const double kl = (log_s.exp() * (log_s - log_t)).sum(1).mean().item<double>();

    Evidence e;
    e.score = agreement;
    e.details = {{"top1_agreement", agreement}, {"kl_source_target", kl}, {"probes", n}};
    return e;
  }
};

}  // namespace

std::unique_ptr<Detector> make_output_agreement() { return std::make_unique<OutputAgreement>(); }

}  // namespace modeldna::evidence
