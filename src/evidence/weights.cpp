// White-box weight comparison, for models that share an architecture.
//
// "weights": cosine similarity of each pair of parameter tensors with the same
// name and shape (same architecture only), averaged; all-zero tensors (e.g. a
// zero-initialised bias) have no direction and are skipped. A fine-tuned,
// pruned or quantised copy stays close to its source; an independent
// initialisation is near 0 in every tensor.
// This is the raw per-layer signal that MoTHer (Horwitz et al., ICLR 2025)
// and the constrained independence tests of Zhu et al. (ICML 2025) build on;
// we report it without their calibration.
//
// "weights-perm": the same after undoing a permutation of hidden units, which
// leaves the function unchanged but scrambles "weights" (the attack Zhu et
// al.'s matching statistic is built to survive). For every weight matrix or
// conv kernel (output units along dim 0) the target's units are matched to
// the source's by maximising the summed Pearson correlation of their
// flattened rows (Hungarian algorithm), and the score is the mean cosine of
// each source row with its matched row.
// Simplified: each tensor is matched on its own. A full alignment would carry
// a layer's permutation into the next layer's input dimension (and through
// residual connections); we do not, so the input-side columns of a permuted
// network's next layer still look scrambled to the row cosine.
#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "detectors.h"
#include "modeldna/compare/assignment.h"

namespace modeldna::evidence {
namespace {

// O(units^3) matching: 512 units (the widest layer of the built-in
// architectures at width 1) takes a fraction of a second.
constexpr int64_t kMaxMatchedUnits = 1024;

std::string layer_of(const std::string& tensor_name) { return tensor_name.substr(0, tensor_name.find('.')); }

// A learned tensor by name, as float values in its stored shape.
struct Learned {
  torch::Tensor values;
  bool matrix = false;     // a weight matrix or kernel (units along dim 0)
  bool token_rows = false; // rows are vocabulary entries, fixed by the tokenizer
};
using LearnedMap = std::vector<std::pair<std::string, Learned>>;

// The model's learned tensors: from the network when it runs (its config
// knows which rows are tokens), else from its file in any format, leaving out
// what the store tags as statistics, constants, optimizer state or
// quantization parameters: no evidence of learning.
LearnedMap learned_tensors(const ModelOutputs& model) {
  LearnedMap out;
  if (!model.network) {
    for (const auto& t : model.store->tensors()) {
      if (!io::is_learned(t.role) || (!io::is_real(t.dtype) && !t.quantization)) continue;
      auto values = torch::empty(t.shape, torch::kFloat32);
      model.store->read_f32(t, 0, t.numel(), values.data_ptr<float>());
      Learned l{values, (t.role == io::Role::Weight || t.role == io::Role::Embedding) && t.shape.size() >= 2,
                t.role == io::Role::Embedding};
      out.emplace_back(t.name, std::move(l));
    }
    return out;
  }
  const int64_t vocab = model.network->config().input.vocab_size;
  for (const auto& p : model.network->named_parameters()) {
    const auto& name = p.key();
    const bool weight = name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0;
    const auto& w = p.value();
    out.emplace_back(name, Learned{w.detach(), weight && w.dim() >= 2, weight && w.dim() >= 2 && w.size(0) == vocab});
  }
  return out;
}

const Learned* find(const LearnedMap& map, const std::string& name) {
  for (const auto& [n, l] : map)
    if (n == name) return &l;
  return nullptr;
}

// Why the two models' weights cannot be compared tensor by tensor, or "".
// Names only line up within one architecture: across architectures a shared
// name and shape (say the 10-class output bias) would be a coincidence.
std::string incomparable(const ModelOutputs& source, const ModelOutputs& target) {
  const bool s = source.network || source.store, t = target.network || target.store;
  if (!s || !t) return "needs both models' weights";
  if (source.network && target.network) {
    const auto& a = source.network->config().arch;
    const auto& b = target.network->config().arch;
    if (a != b) return "different architectures ('" + a + "' and '" + b + "')";
  }
  return "";
}

class Weights : public Detector {
 public:
  std::string name() const override { return "weights"; }
  std::string reference() const override {
    return "per-tensor cosine of weights with the same name and shape (white-box; cf. MoTHer, ICLR 2025)";
  }

  Evidence compare(const ProbeSet&, const ModelOutputs& source, const ModelOutputs& target) override {
    if (const auto why = incomparable(source, target); !why.empty()) return detail::not_applicable(why);
    torch::NoGradGuard no_grad;
    const auto source_params = learned_tensors(source), target_params = learned_tensors(target);

    struct LayerSums {
      double dot = 0, source_sq = 0, target_sq = 0;
    };
    std::vector<std::string> layer_order;
    std::map<std::string, LayerSums> layers;
    nlohmann::json tensors = nlohmann::json::array();
    int64_t shape_mismatch = 0, zero = 0, total = 0;
    double sum = 0;

    for (const auto& [name, learned] : source_params) {
      ++total;
      const Learned* other = find(target_params, name);
      if (other == nullptr || other->values.sizes() != learned.values.sizes()) {
        ++shape_mismatch;
        continue;
      }
      const auto s = learned.values.to(torch::kFloat64).flatten(), t = other->values.to(torch::kFloat64).flatten();
      const double dot = s.dot(t).item<double>(), s_sq = s.dot(s).item<double>(), t_sq = t.dot(t).item<double>();
      if (s_sq == 0 || t_sq == 0) {  // e.g. a zero-initialised bias: no direction to compare
        ++zero;
        continue;
      }
      const double cos = dot / std::sqrt(s_sq * t_sq);
      sum += cos;
      tensors.push_back({{"tensor", name}, {"cosine", cos}});
      const auto layer = layer_of(name);
      if (!layers.count(layer)) layer_order.push_back(layer);
      auto& acc = layers[layer];
      acc.dot += dot;
      acc.source_sq += s_sq;
      acc.target_sq += t_sq;
    }
    if (tensors.empty())
      return detail::not_applicable("no parameter tensor has the same name and shape in both models");

    nlohmann::json per_layer = nlohmann::json::array();
    for (const auto& layer : layer_order) {
      const auto& acc = layers[layer];
      per_layer.push_back({{"layer", layer}, {"cosine", acc.dot / std::sqrt(acc.source_sq * acc.target_sq)}});
    }
    Evidence e;
    e.score = sum / static_cast<double>(tensors.size());
    e.details = {{"layers", per_layer},          {"tensors", tensors},
                 {"matched_tensors", tensors.size()}, {"source_tensors", total},
                 {"unmatched_tensors", shape_mismatch}, {"zero_tensors", zero}};
    return e;
  }
};

class WeightsPerm : public Detector {
 public:
  std::string name() const override { return "weights-perm"; }
  std::string reference() const override {
    return "weight cosine after Hungarian matching of hidden units, per layer (cf. Zhu et al., ICML 2025)";
  }

  Evidence compare(const ProbeSet&, const ModelOutputs& source, const ModelOutputs& target) override {
    if (const auto why = incomparable(source, target); !why.empty()) return detail::not_applicable(why);
    torch::NoGradGuard no_grad;
    const auto source_params = learned_tensors(source), target_params = learned_tensors(target);

    nlohmann::json per_layer = nlohmann::json::array();
    nlohmann::json skipped = nlohmann::json::array();
    double sum = 0;
    for (const auto& [name, learned] : source_params) {
      if (!learned.matrix) continue;  // matrices and kernels: BatchNorm scales are 1-D
      const auto& w = learned.values;
      const Learned* match_in_target = find(target_params, name);
      if (match_in_target == nullptr || match_in_target->values.sizes() != w.sizes()) continue;
      const torch::Tensor* other = &match_in_target->values;
      const int64_t units = w.size(0);
      // Rows of a token embedding or a vocabulary head are tokens, fixed by
      // the tokenizer: no permutation to undo, so compare them in place.
      const bool token_rows = learned.token_rows;
      if (units > kMaxMatchedUnits && !token_rows) {
        skipped.push_back({{"tensor", name}, {"reason", std::to_string(units) + " units, too many to match"}});
        continue;
      }

      const auto s = w.to(torch::kFloat64).flatten(1), t = other->to(torch::kFloat64).flatten(1);
      std::vector<int64_t> match(static_cast<size_t>(units));
      std::iota(match.begin(), match.end(), 0);
      if (!token_rows) {
        // Correlation decides the matching (robust to a shared offset per row);
        // the reported similarity stays the plain cosine, as in "weights".
        const auto corr = detail::unit_rows(s - s.mean(1, true)).mm(detail::unit_rows(t - t.mean(1, true)).t());
        const auto cost = (-corr).contiguous();
        const std::vector<double> cost_vec(cost.data_ptr<double>(), cost.data_ptr<double>() + cost.numel());
        match = compare::min_cost_assignment(cost_vec, units, units);
      }

      const auto s_unit = detail::unit_rows(s), t_unit = detail::unit_rows(t);
      const auto index = torch::tensor(match, torch::kInt64);
      const double matched = (s_unit * t_unit.index_select(0, index)).sum(1).mean().item<double>();
      const double unmatched = (s_unit * t_unit).sum(1).mean().item<double>();
      int64_t moved = 0;
      for (int64_t i = 0; i < units; ++i) moved += match[i] != i;

      sum += matched;
      per_layer.push_back({{"layer", layer_of(name)},
                           {"tensor", name},
                           {"units", units},
                           {"cosine", matched},
                           {"cosine_unmatched", unmatched},
                           {"moved_units", moved}});
    }
    if (per_layer.empty())
      return detail::not_applicable("no weight matrix or kernel has the same name and shape in both models");

    Evidence e;
    e.score = sum / static_cast<double>(per_layer.size());
    e.details = {{"layers", per_layer}, {"skipped", skipped}};
    return e;
  }
};

}  // namespace

std::unique_ptr<Detector> make_weights() { return std::make_unique<Weights>(); }
std::unique_ptr<Detector> make_weights_perm() { return std::make_unique<WeightsPerm>(); }

}  // namespace modeldna::evidence
