// File: modeldna/evidence/model_behaviour.h
// compare's model runner (compare/compare_files.h): loads modeldna models of
// the built-in architectures, and decoder language models of the Llama
// family in Hugging Face or GGUF form (nn/language_model.h), runs them on
// the probes of their input kind (behaviour.h; for language models, prompts
// of real text in the source's vocabulary, language_model_prompts.h) and
// gives the calibrated behavioural evidence. Each model's outputs are kept
// per file and seed, so a bench of many pairs runs each model once.
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
  const ModelOutputs& observed(const std::shared_ptr<const io::TensorStore>& store, const std::string& role,
                               const ProbeSet& probes, uint64_t seed);
  compare::BlackBoxEvidence classifier_evidence(const std::shared_ptr<const io::TensorStore>& source,
                                                const std::shared_ptr<const io::TensorStore>& target,
                                                const std::vector<std::shared_ptr<const io::TensorStore>>& references,
                                                uint64_t seed);
  compare::BlackBoxEvidence language_model_evidence(const std::shared_ptr<const io::TensorStore>& source,
                                                    const std::shared_ptr<const io::TensorStore>& target,
                                                    const std::vector<std::shared_ptr<const io::TensorStore>>& references,
                                                    uint64_t seed);
  /// A language model's next-token logits on `probes`, its columns taken in
  /// the source's token order (`columns`: the model's id of each source token).
  const ModelOutputs& observed_language_model(const std::shared_ptr<const io::TensorStore>& store,
                                              const std::string& role, const ProbeSet& probes,
                                              const std::vector<int64_t>& columns, uint64_t seed);

  BehaviourOptions options_;
  std::map<std::pair<std::string, uint64_t>, ModelOutputs> cache_;  // (file, probe key) -> outputs
};

}  // namespace modeldna::evidence
