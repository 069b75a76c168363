#include "modeldna/evidence/fingerprint_probes.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

#include "modeldna/core/error.h"
#include "modeldna/evidence/behaviour.h"
#include "modeldna/io/open_store.h"
#include "modeldna/nn/train.h"

namespace modeldna::evidence {
namespace {

// Registered models of the query's input kind whose outputs are compared.
constexpr int64_t kMaxBehaviouralCandidates = 512;

ModelOutputs outputs_of(const std::string& id, const registry::ProbeOutputs& p) {
  ModelOutputs m;
  m.id = id;
  m.logits = torch::from_blob(const_cast<float*>(p.logits.data()), {3 * p.probes, p.classes}, torch::kFloat32).clone();
  return m;
}

// A probe set of n probes as behavioural_evidence sees it: only its size and
// labels are read once outputs are known.
ProbeSet sized_probes(int64_t n) {
  ProbeSet p;
  p.clean = torch::zeros({n, 1});
  p.noisy = p.clean;
  p.cutmix = p.clean;
  p.labels = torch::full({n}, -1, torch::kInt64);  // unknown: never equal to a prediction
  return p;
}

}  // namespace

std::optional<registry::ProbeOutputs> probe_outputs(const nn::LoadedModel& model) {
  if (!model.network) return std::nullopt;
  const auto& arch = model.network->config();
  if (arch.num_classes > kMaxFingerprintClasses) return std::nullopt;
  BehaviourOptions o;
  o.probes = kFingerprintProbes;
  const auto probes = behaviour_probes(arch, o);
  torch::NoGradGuard no_grad;
  const auto logits = nn::predict_logits(*model.network, probes.all_inputs()).to(torch::kFloat32).contiguous();
  if (logits.size(1) > kMaxFingerprintClasses) return std::nullopt;
  registry::ProbeOutputs out;
  out.input_kind = input_kind(arch);
  out.probes = probes.size();
  out.classes = logits.size(1);
  out.logits.assign(logits.data_ptr<float>(), logits.data_ptr<float>() + logits.numel());
  return out;
}

void add_behavioural_candidates(registry::Registry& reg, const registry::Fingerprint& query, const registry::FindOptions& o,
                                registry::FindResult& result) {
  if (result.tested > 0) return;
  if (!query.outputs) {
    result.notes.push_back(registry::kQueryCannotRunNote);
    return;
  }
  const auto ids = reg.database().ids_with_input_kind(query.outputs->input_kind, kMaxBehaviouralCandidates);
  std::vector<std::pair<registry::ModelRecord, ModelOutputs>> others;
  for (auto& [record, fp] : reg.fingerprints(ids)) {
    if (!fp.outputs || fp.content_hash == query.content_hash || fp.outputs->probes != query.outputs->probes) continue;
    others.emplace_back(record, outputs_of(std::to_string(record.id), *fp.outputs));
  }
  if (others.empty()) {
    result.notes.push_back("no registered model reads the same inputs (" + query.outputs->input_kind + "): nothing to compare");
    return;
  }
  const auto probes = sized_probes(query.outputs->probes);
  const auto q = outputs_of("query", *query.outputs);
  std::vector<registry::Candidate> tested;
  for (std::size_t i = 0; i < others.size(); ++i) {
    // Every other model of that input kind is the reference panel: related
    // ones in it only make the p-value larger (conservative).
    std::vector<const ModelOutputs*> panel;
    for (std::size_t j = 0; j < others.size(); ++j)
      if (j != i) panel.push_back(&others[j].second);
    const auto e = behavioural_evidence(probes, others[i].second, q, panel);
    registry::Candidate c;
    c.model = others[i].first;
    c.found_by = registry::FoundBy::ProbeOutputs;
    c.log10_p = e.log10_p.value_or(0.0);
    c.closeness = e.score;
    c.relation = compare::Relation::Distilled;
    c.direction_reason = "behaviour alone does not tell a direction";
    c.evidence = {{"behavioural_similarity", e.score}, {"calibration", e.calibration}};
    tested.push_back(std::move(c));
  }
  result.tested = static_cast<int64_t>(tested.size());
  registry::apply_holm(tested, result.registry_models, o.alpha);
  for (auto& c : tested)
    if (!c.significant) c.relation = compare::Relation::None;
  if (!tested.empty() && tested[0].significant) result.parent = tested[0];
  if (static_cast<int>(tested.size()) > o.top) tested.resize(static_cast<std::size_t>(o.top));
  result.candidates = std::move(tested);
  result.notes.push_back("white-box evidence does not apply (no shared tensor shape); judged on outputs on standard probes (" +
                         query.outputs->input_kind + "), calibrated against the registry's other models of that input");
}

registry::Fingerprint fingerprint_file(const std::string& path) {
  const auto store = std::make_shared<io::TensorStore>(io::open_store(path));
  auto fp = registry::fingerprint_store(*store);
  if (nn::runnable_arch(*store)) fp.outputs = probe_outputs(nn::load_model(store));
  return fp;
}

}  // namespace modeldna::evidence
