#include "modeldna/evidence/mgmp_evidence.h"

namespace modeldna::evidence {

const torch::Tensor& MgmpEvidence::outputs(const ModelOutputs& model) {
  auto it = outputs_.find(model.id);
  if (it == outputs_.end()) it = outputs_.emplace(model.id, detector_.observe(*model.network)).first;
  return it->second;
}

std::string MgmpEvidence::cannot_compare(const nn::ArchConfig& arch) const {
  if (arch.num_classes != detector_.dna_dim())
    return std::to_string(arch.num_classes) + " outputs, the detector compares " + std::to_string(detector_.dna_dim());
  if (arch.input != detector_.probe_format())
    return "does not read the detector's probes (" + detector_.probe_format().describe() + ")";
  return "";
}

Evidence MgmpEvidence::compare(const ProbeSet&, const ModelOutputs& source, const ModelOutputs& target) {
  for (const auto* model : {&source, &target})
    if (const auto why = cannot_compare(model->network->config()); !why.empty())
      return {0, false, {{"reason", model->id + ": " + why}}};
  const auto v = detector_.verdict(outputs(source), outputs(target));
  return {v.probability, true, {{"vote_fraction", v.vote_fraction}, {"homologous", v.homologous}}};
}

}  // namespace modeldna::evidence
