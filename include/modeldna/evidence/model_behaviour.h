// File: modeldna/evidence/model_behaviour.h
// compare's model runner (compare/compare_files.h): loads modeldna models of
// the built-in architectures, runs them on the probes run_behaviour uses
// (behaviour.h) and gives the calibrated behavioural evidence. Each model's
// outputs are kept per file and seed, so a bench of many pairs runs each
// model once.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>

#include "modeldna/compare/compare_files.h"
#include "modeldna/evidence/behaviour.h"

namespace modeldna::evidence {

class ModelBehaviour : public compare::Behaviour {
 public:
  explicit ModelBehaviour(BehaviourOptions options = {}) : options_(std::move(options)) {}

  bool can_run(const io::TensorStore& store) const override;
  compare::BlackBoxEvidence evidence(const std::shared_ptr<const io::TensorStore>& source,
                                     const std::shared_ptr<const io::TensorStore>& target,
                                     const std::vector<std::shared_ptr<const io::TensorStore>>& references,
                                     uint64_t seed) override;

 private:
  struct Observed {
    nn::LoadedModel model;
    ModelOutputs outputs;
  };
  const Observed& observed(const std::shared_ptr<const io::TensorStore>& store, const std::string& role,
                           const ProbeSet& probes, uint64_t seed);

  BehaviourOptions options_;
  std::map<std::pair<std::string, uint64_t>, Observed> cache_;  // (file, seed) -> outputs
};

}  // namespace modeldna::evidence
