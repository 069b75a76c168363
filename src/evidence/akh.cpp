// "akh": the Anna Karenina Heuristic of Godinot et al., "Queries, Representation
// & Detection: The Next 100 Model Fingerprinting Schemes", AAAI 2025: models
// derived from the source repeat its mistakes. Among the clean probes the
// source misclassifies, the score is the fraction where the target predicts
// the same wrong label.
//
// Simplified: the paper queries the victim's misclassified test inputs; we
// take whichever clean probes (drawn from the source's training data) it gets
// wrong, so a source that fits its training set well leaves few of them
// ("source_mistakes" in details says how many the score rests on).
#include "detectors.h"

namespace modeldna::evidence {
namespace {

class Akh : public Detector {
 public:
  std::string name() const override { return "akh"; }
  std::string reference() const override {
    return "same-mistakes heuristic, AKH (Godinot et al., AAAI 2025)";
  }

  Evidence compare(const ProbeSet& probes, const ModelOutputs& source, const ModelOutputs& target) override {
    detail::check_observed(probes, source);
    detail::check_observed(probes, target);
    const int64_t n = probes.size();
    const auto s = source.clean(n), t = target.clean(n);
    if (s.size(1) != t.size(1))
      return detail::not_applicable("output sizes differ (" + std::to_string(s.size(1)) + " and " +
                                    std::to_string(t.size(1)) + " classes)");

    const auto s_pred = s.argmax(1), t_pred = t.argmax(1);
    const auto wrong = s_pred.ne(probes.labels);
    const int64_t mistakes = wrong.sum().item<int64_t>();
    if (mistakes == 0)
      return detail::not_applicable("the source classifies all " + std::to_string(n) + " probes correctly");
    const int64_t same = t_pred.eq(s_pred).logical_and(wrong).sum().item<int64_t>();

    Evidence e;
    e.score = static_cast<double>(same) / static_cast<double>(mistakes);
    e.details = {{"source_mistakes", mistakes}, {"same_mistakes", same}, {"probes", n}};
    return e;
  }
};

}  // namespace

std::unique_ptr<Detector> make_akh() { return std::make_unique<Akh>(); }

}  // namespace modeldna::evidence
