#include "modeldna/evidence/mgmp_evidence.h"

namespace modeldna::evidence {

const torch::Tensor& MgmpEvidence::outputs(const ModelOutputs& model) {
  auto it = outputs_.find(model.id);
  if (it == outputs_.end()) it = outputs_.emplace(model.id, detector_.observe(*model.network)).first;
  return it->second;
}

std::string MgmpEvidence::cannot_compare(const ModelOutputs& model) const {
  return detector_.cannot_read(*model.network);
}

Evidence MgmpEvidence::compare(const ProbeSet&, const ModelOutputs& source, const ModelOutputs& target) {
  for (const auto* model : {&source, &target})
    if (const auto why = cannot_compare(*model); !why.empty())
      return {0, false, {{"reason", model->id + ": " + why}}};
  const auto v = detector_.verdict(outputs(source), outputs(target));
  return {v.probability, true, {{"vote_fraction", v.vote_fraction}, {"homologous", v.homologous}}};
}

}  // namespace modeldna::evidence
