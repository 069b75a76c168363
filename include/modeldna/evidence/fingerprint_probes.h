// File: modeldna/evidence/fingerprint_probes.h
// The black-box part of a registry fingerprint: a runnable model's outputs
// on the standard probes of its input kind (behaviour.h's probes, seed 0,
// kFingerprintProbes of each kind), and `find`'s use of them when the query
// shares no tensor shape with any registered model (another architecture):
// behavioural similarity calibrated against the registry's other models of
// that input kind (behavioural_evidence's Student t), Holm over the registry.
#pragma once

#include <optional>
#include <string>

#include "modeldna/nn/model_file.h"
#include "modeldna/registry/fingerprinter.h"
#include "modeldna/registry/registry.h"

namespace modeldna::evidence {

inline constexpr int64_t kFingerprintProbes = 32;
/// Models with more outputs than this (a language model's vocabulary) keep
/// no outputs: they would outweigh the sketches many times over.
inline constexpr int64_t kMaxFingerprintClasses = 1000;

/// The outputs to store, or nullopt when the model cannot run or has too
/// many outputs.
std::optional<registry::ProbeOutputs> probe_outputs(const nn::LoadedModel& model);

/// The one way to fingerprint a model file: its store's fingerprint, plus
/// the outputs on standard probes when modeldna can run the model.
registry::Fingerprint fingerprint_file(const std::string& path);

/// When white-box evidence found nothing to test, adds candidates judged on
/// stored outputs to `result` (and says so in its notes).
void add_behavioural_candidates(registry::Registry& registry, const registry::Fingerprint& query,
                                const registry::FindOptions& options, registry::FindResult& result);

/// The fingerprinter that runs models: find_file and family_tree_of_files
/// with it see outputs as well as weights.
class ModelFingerprinter : public registry::Fingerprinter {
 public:
  registry::Fingerprint fingerprint(const std::string& path) override { return fingerprint_file(path); }
  void judge_on_outputs(registry::Registry& registry, const registry::Fingerprint& query,
                        const registry::FindOptions& options, registry::FindResult& result) override {
    add_behavioural_candidates(registry, query, options, result);
  }
};

}  // namespace modeldna::evidence
