#include "modeldna/evidence/model_behaviour.h"

#include <chrono>

#include "language_model_prompts.h"
#include "modeldna/core/error.h"
#include "modeldna/core/stopwatch.h"
#include "modeldna/io/vocabulary.h"
#include "modeldna/nn/language_model.h"
#include "modeldna/nn/train.h"

namespace modeldna::evidence {
namespace {



// A language model's tokens, one per row of its embedding at most.
std::vector<std::string> vocabulary_of(const io::TensorStore& store) {
  auto tokens = io::vocabulary(store);
  if (!tokens)
    throw FormatError(store.path(), "no tokenizer (tokenizer.ggml.tokens in a GGUF, tokenizer.model beside a "
                                    "checkpoint): the language model cannot be shown text");
  const int64_t rows = io::language_model_config(store)->vocab_size;
  if (static_cast<int64_t>(tokens->size()) > rows)
    throw FormatError(store.path(), "the tokenizer has " + std::to_string(tokens->size()) +
                                        " tokens, more than the model's " + std::to_string(rows) + " embedding rows");
  return std::move(*tokens);
}

uint64_t digest(const std::vector<std::string>& tokens) {
  uint64_t h = 1469598103934665603ull;
  for (const auto& t : tokens) h = (h ^ std::hash<std::string>{}(t)) * 1099511628211ull;
  return h;
}

// How often the two models' greedy next tokens agree on the clean prompts
// (Nikolic et al.'s statistic; compare's own is the distributions' similarity).
double greedy_agreement(const ProbeSet& probes, const ModelOutputs& a, const ModelOutputs& b) {
  const int64_t n = probes.size();
  return a.clean(n).argmax(1).eq(b.clean(n).argmax(1)).to(torch::kFloat64).mean().item<double>();
}

}  // namespace

bool ModelBehaviour::can_run(const io::TensorStore& store) const {
  return nn::runnable_arch(store).has_value() || nn::declares_language_model(store);
}

const ModelOutputs& ModelBehaviour::observed(const std::shared_ptr<const io::TensorStore>& store,
                                             const std::string& role, const ProbeSet& probes, uint64_t seed) {
  const auto key = std::make_pair(store->path(), seed);
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second;
  return cache_.emplace(key, observe(role, nn::load_model(store).network, probes, store)).first->second;
}

const ModelOutputs& ModelBehaviour::observed_language_model(const std::shared_ptr<const io::TensorStore>& store,
                                                            const std::string& role, const ProbeSet& probes,
                                                            const std::vector<int64_t>& columns, uint64_t seed) {
  const auto key = std::make_pair(store->path(), seed);
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second;
  auto model = nn::load_language_model(store).model;
  const auto ids = torch::tensor(columns, torch::kInt64);
  // The source's token ids, spelled in this model's ids.
  const auto inputs = ids.index_select(0, probes.all_inputs().flatten()).view(probes.all_inputs().sizes());
  ModelOutputs out;
  out.id = role;
  out.logits = nn::predict_logits(*model, inputs).index_select(1, ids);
  out.network = std::move(model);
  out.store = store;
  return cache_.emplace(key, std::move(out)).first->second;
}

compare::BlackBoxEvidence ModelBehaviour::evidence(const std::shared_ptr<const io::TensorStore>& source,
                                                   const std::shared_ptr<const io::TensorStore>& target,
                                                   const std::vector<std::shared_ptr<const io::TensorStore>>& references,
                                                   uint64_t seed) {
  const bool source_lm = nn::declares_language_model(*source), target_lm = nn::declares_language_model(*target);
  if (source_lm && target_lm) return language_model_evidence(source, target, references, seed);
  if (source_lm != target_lm) {
    compare::BlackBoxEvidence e;
    e.reason = std::string("the ") + (source_lm ? "source" : "target") + " is a language model and the " +
               (source_lm ? "target" : "source") + " is not";
    return e;
  }
  return classifier_evidence(source, target, references, seed);
}

compare::BlackBoxEvidence ModelBehaviour::classifier_evidence(
    const std::shared_ptr<const io::TensorStore>& source, const std::shared_ptr<const io::TensorStore>& target,
    const std::vector<std::shared_ptr<const io::TensorStore>>& references, uint64_t seed) {
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
  const auto forward_start = Clock::now();
  const auto& s = observed(source, "source", probes, probe_key);
  const auto& t = observed(target, "target", probes, probe_key);
  std::vector<const ModelOutputs*> panel;
  for (const auto& r : references) panel.push_back(&observed(r, "reference", probes, probe_key));
  const double forward_ms = ms_since(forward_start);
  e = behavioural_evidence(probes, s, t, panel);
  e.signals["forward_ms"] = forward_ms;
  return e;
}

compare::BlackBoxEvidence ModelBehaviour::language_model_evidence(
    const std::shared_ptr<const io::TensorStore>& source, const std::shared_ptr<const io::TensorStore>& target,
    const std::vector<std::shared_ptr<const io::TensorStore>>& references, uint64_t seed) {
  compare::BlackBoxEvidence e;
  const auto source_tokens = vocabulary_of(*source);
  const auto target_columns = detail::same_tokens(source_tokens, vocabulary_of(*target));
  if (!target_columns) {
    e.reason = "the models' vocabularies differ (some of the source's tokens are not the target's): comparing "
               "their continuations as text is not built yet";
    return e;
  }
  std::vector<std::vector<int64_t>> reference_columns;
  for (std::size_t i = 0; i < references.size(); ++i) {
    if (!nn::declares_language_model(*references[i]))
      throw UsageError("reference " + std::to_string(i + 1) + " (" + references[i]->path() +
                       ") is not a language model modeldna can run");
    auto columns = detail::same_tokens(source_tokens, vocabulary_of(*references[i]));
    if (!columns)
      throw UsageError("reference " + std::to_string(i + 1) + " (" + references[i]->path() +
                       ") lacks some of the source's tokens (a reference needs the source's tokenizer)");
    reference_columns.push_back(std::move(*columns));
  }
  // Every model shown one source vocabulary sees the same prompts.
  const uint64_t probe_key = seed ^ digest(source_tokens);
  const detail::TextSegmenter segmenter(source_tokens);
  const auto prompts = detail::language_model_prompts(segmenter, 2 * options_.probes, nn::kProbeTokens);
  const auto probes = make_probe_set(prompts, options_.probes, seed);
  std::vector<int64_t> identity(source_tokens.size());
  for (std::size_t i = 0; i < identity.size(); ++i) identity[i] = static_cast<int64_t>(i);
  const auto forward_start = Clock::now();
  const auto& s = observed_language_model(source, "source", probes, identity, probe_key);
  const auto& t = observed_language_model(target, "target", probes, *target_columns, probe_key);
  std::vector<const ModelOutputs*> panel;
  for (std::size_t i = 0; i < references.size(); ++i)
    panel.push_back(&observed_language_model(references[i], "reference", probes, reference_columns[i], probe_key));
  const double forward_ms = ms_since(forward_start);
  e = behavioural_evidence(probes, s, t, panel);
  e.signals["forward_ms"] = forward_ms;
  e.signals["greedy_next_token_agreement"] = greedy_agreement(probes, s, t);
  e.signals["prompts"] = std::to_string(probes.size()) + " passages of Moby Dick, " + std::to_string(nn::kProbeTokens) +
                         " tokens of the source's vocabulary each (and their noisy and spliced copies)";
  if (source_tokens.size() != static_cast<std::size_t>(t.network->config().num_classes))
    e.signals["target_tokens_ignored"] = t.network->config().num_classes - static_cast<int64_t>(source_tokens.size());
  return e;
}

}  // namespace modeldna::evidence
