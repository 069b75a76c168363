#include "modeldna/evidence/model_behaviour.h"

#include <chrono>

#include "modeldna/core/error.h"

namespace modeldna::evidence {

bool ModelBehaviour::can_run(const io::TensorStore& store) const { return nn::runnable_arch(store).has_value(); }

const ModelBehaviour::Observed& ModelBehaviour::observed(const std::shared_ptr<const io::TensorStore>& store,
                                                         const std::string& role, const ProbeSet& probes,
                                                         uint64_t seed) {
  const auto key = std::make_pair(store->path(), seed);
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second;
  Observed o;
  o.model = nn::load_model(store);
  o.outputs = observe(role, o.model.network, probes, store);
  return cache_.emplace(key, std::move(o)).first->second;
}

compare::BlackBoxEvidence ModelBehaviour::evidence(const std::shared_ptr<const io::TensorStore>& source,
                                                   const std::shared_ptr<const io::TensorStore>& target,
                                                   const std::vector<std::shared_ptr<const io::TensorStore>>& references,
                                                   uint64_t seed) {
  compare::BlackBoxEvidence e;
  const auto source_arch = nn::runnable_arch(*source), target_arch = nn::runnable_arch(*target);
  if (!source_arch || !target_arch) {
    e.reason = "both models must be runnable (a built-in architecture) for behavioural evidence";
    return e;
  }
  const std::string kind = input_kind(*source_arch);
  if (kind != input_kind(*target_arch)) {
    e.reason = "the models read different inputs (" + kind + " and " + input_kind(*target_arch) + ")";
    return e;
  }
  for (std::size_t i = 0; i < references.size(); ++i) {
    const auto arch = nn::runnable_arch(*references[i]);
    if (!arch || input_kind(*arch) != kind)
      throw UsageError("reference " + std::to_string(i + 1) + " (" + references[i]->path() + ") " +
                       (arch ? "reads other inputs than the source" : "is not a model modeldna can run"));
  }
  // Outputs are kept per file and seed: the probes depend on the seed and
  // the input kind, and every model of one input kind sees the same probes.
  const uint64_t probe_key = seed ^ std::hash<std::string>{}(kind);
  BehaviourOptions o = options_;
  o.seed = seed;
  const auto probes = behaviour_probes(*source_arch, o);
  const auto forward_start = std::chrono::steady_clock::now();
  const auto& s = observed(source, "source", probes, probe_key);
  const auto& t = observed(target, "target", probes, probe_key);
  std::vector<const ModelOutputs*> panel;
  for (const auto& r : references) panel.push_back(&observed(r, "reference", probes, probe_key).outputs);
  const double forward_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - forward_start).count();
  e = behavioural_evidence(probes, s.outputs, t.outputs, panel);
  e.signals["forward_ms"] = forward_ms;
  return e;
}

}  // namespace modeldna::evidence
