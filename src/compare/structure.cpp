#include "structure.h"

#include <algorithm>
#include <set>
#include <tuple>
#include <vector>

namespace modeldna::compare::detail {
namespace {

constexpr std::size_t kDigitWidth = 20;  // any int64 in decimal

// A tensor that can carry a unit structure: learned, rank 2 or more.
bool is_weight(const io::TensorInfo& t) { return io::is_learned(t.role) && t.shape.size() >= 2; }

// Names whose values are weights: the weight tensors themselves, and the
// outputs of operators that read nothing but weights and constants (a
// Dequantize, Cast or Identity before the operator that really uses them),
// each mapped to the weight it came from.
std::map<std::string, std::string> weight_origins(const io::TensorStore& store) {
  std::map<std::string, std::string> origin;
  std::set<std::string> stored;
  for (const auto& t : store.tensors()) {
    stored.insert(t.name);
    if (is_weight(t)) origin[t.name] = t.name;
  }
  const auto& nodes = store.graph();
  // A chain of such operators is followed one link per pass; real chains
  // are one or two long, and the pass count is bounded by the graph's size.
  for (std::size_t pass = 0; pass < nodes.size(); ++pass) {
    bool changed = false;
    for (const auto& node : nodes) {
      std::string from;
      bool only_weights_and_constants = !node.inputs.empty();
      for (const auto& in : node.inputs) {
        if (in.empty()) continue;
        const auto it = origin.find(in);
        if (it != origin.end()) {
          if (from.empty()) from = it->second;
        } else if (!stored.count(in)) {
          only_weights_and_constants = false;
        }
      }
      if (!only_weights_and_constants || from.empty()) continue;
      for (const auto& out : node.outputs)
        if (!out.empty() && origin.emplace(out, from).second) changed = true;
    }
    if (!changed) break;
  }
  return origin;
}

// Depth per operator: 1 for one that reads a weight, plus the largest depth
// among the operators producing its data inputs. Iterative (graphs from
// files can be deep) and safe on cycles (a back edge adds nothing).
std::vector<int64_t> operator_depths(const std::vector<io::GraphNode>& nodes,
                                     const std::map<std::string, std::string>& origin) {
  std::map<std::string, std::size_t> producer;
  for (std::size_t i = 0; i < nodes.size(); ++i)
    for (const auto& out : nodes[i].outputs)
      if (!out.empty()) producer.emplace(out, i);
  enum class State : uint8_t { Unvisited, Open, Done };
  std::vector<State> state(nodes.size(), State::Unvisited);
  std::vector<int64_t> depth(nodes.size(), 0);
  auto reads_weight = [&](std::size_t i) {
    return std::any_of(nodes[i].inputs.begin(), nodes[i].inputs.end(),
                       [&](const std::string& in) { return origin.count(in) > 0; });
  };
  for (std::size_t root = 0; root < nodes.size(); ++root) {
    if (state[root] != State::Unvisited) continue;
    std::vector<std::pair<std::size_t, std::size_t>> stack = {{root, 0}};  // (node, next input)
    state[root] = State::Open;
    while (!stack.empty()) {
      auto& [i, next] = stack.back();
      if (next < nodes[i].inputs.size()) {
        const auto& in = nodes[i].inputs[next++];
        if (origin.count(in)) continue;
        const auto p = producer.find(in);
        if (p == producer.end() || state[p->second] != State::Unvisited) continue;
        state[p->second] = State::Open;
        stack.emplace_back(p->second, 0);
        continue;
      }
      int64_t deepest = 0;
      for (const auto& in : nodes[i].inputs) {
        if (origin.count(in)) continue;
        const auto p = producer.find(in);
        if (p != producer.end() && state[p->second] == State::Done) deepest = std::max(deepest, depth[p->second]);
      }
      depth[i] = deepest + (reads_weight(i) ? 1 : 0);
      state[i] = State::Done;
      stack.pop_back();
    }
  }
  return depth;
}

}  // namespace

bool StructuralPosition::operator<(const StructuralPosition& o) const {
  return std::tie(depth, node, name_key, stored) < std::tie(o.depth, o.node, o.name_key, o.stored);
}

std::string natural_key(const std::string& name) {
  std::string key;
  for (std::size_t i = 0; i < name.size();) {
    if (name[i] < '0' || name[i] > '9') {
      key += name[i++];
      continue;
    }
    std::size_t end = i;
    while (end < name.size() && name[end] >= '0' && name[end] <= '9') ++end;
    std::string digits = name.substr(i, end - i);
    const auto first = digits.find_first_not_of('0');
    digits = first == std::string::npos ? "0" : digits.substr(first);
    if (digits.size() < kDigitWidth) key += std::string(kDigitWidth - digits.size(), '0');
    key += digits;
    i = end;
  }
  return key;
}

std::map<std::string, StructuralPosition> structural_positions(const io::TensorStore& store) {
  std::map<std::string, StructuralPosition> positions;
  const auto& tensors = store.tensors();
  for (std::size_t k = 0; k < tensors.size(); ++k) {
    auto& p = positions[tensors[k].name];
    p.stored = static_cast<int64_t>(k);
    if (store.format() == io::Format::Safetensors) p.name_key = natural_key(tensors[k].name);
  }
  const auto& nodes = store.graph();
  if (nodes.empty()) return positions;
  const auto origin = weight_origins(store);
  const auto depth = operator_depths(nodes, origin);
  // A tensor no operator reads sorts after those that are read.
  for (auto& [name, p] : positions) {
    p.depth = INT64_MAX;
    p.node = INT64_MAX;
  }
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const int64_t d = depth[i], node = static_cast<int64_t>(i);
    for (const auto& in : nodes[i].inputs) {
      const auto it = origin.find(in);
      if (it == origin.end()) continue;
      auto& p = positions[it->second];
      if (std::tie(d, node) < std::tie(p.depth, p.node)) {
        p.depth = d;
        p.node = node;
      }
    }
  }
  return positions;
}

}  // namespace modeldna::compare::detail
