// File: modeldna/evidence/mgmp_evidence.h
// MGMP (dna/) behind the common Detector interface, in the one detector
// table as "mgmp". MGMP brings its own recorded probes, so it observes each
// model once on them and keeps the outputs.
#pragma once

#include <map>
#include <memory>

#include "modeldna/dna/mgmp.h"
#include "modeldna/evidence/detector.h"

namespace modeldna::evidence {

class MgmpEvidence : public Detector {
 public:
  explicit MgmpEvidence(const std::string& dir) : detector_(dna::MgmpDetector::load(dir)) {}
  std::string name() const override { return "mgmp"; }
  std::string reference() const override { return "Mu et al., Model Provenance via Model DNA, ECAI 2024"; }
  Evidence compare(const ProbeSet&, const ModelOutputs& source, const ModelOutputs& target) override;
  const dna::MgmpDetector& detector() const { return detector_; }
  /// Why MGMP cannot compare this model, or "" if it can (its outputs,
  /// inputs and, with a features readout, feature width must be the
  /// detector's).
  std::string cannot_compare(const ModelOutputs& model) const;
  /// The model's outputs on MGMP's probes (computed once per id).
  const torch::Tensor& outputs(const ModelOutputs& model);

 private:
  dna::MgmpDetector detector_;
  std::map<std::string, torch::Tensor> outputs_;
};

}  // namespace modeldna::evidence
