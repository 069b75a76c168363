#include "mgmp_evidence.h"

namespace modeldna::bench {

const torch::Tensor& MgmpEvidence::outputs(const evidence::ModelOutputs& model) {
  auto it = outputs_.find(model.id);
  if (it == outputs_.end()) it = outputs_.emplace(model.id, detector_.observe(*model.network)).first;
  return it->second;
}

evidence::Evidence MgmpEvidence::compare(const evidence::ProbeSet&, const evidence::ModelOutputs& source,
                                         const evidence::ModelOutputs& target) {
  if (source.network->config().num_classes != detector_.dna_dim() ||
      target.network->config().num_classes != detector_.dna_dim())
    return {0, false, {{"reason", "output size differs from the detector's"}}};
  const auto v = detector_.verdict(outputs(source), outputs(target));
  return {v.probability, true, {{"vote_fraction", v.vote_fraction}, {"homologous", v.homologous}}};
}

}  // namespace modeldna::bench
