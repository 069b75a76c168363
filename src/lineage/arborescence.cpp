#include "modeldna/lineage/arborescence.h"

#include <algorithm>

#include "modeldna/core/error.h"

namespace modeldna::lineage {
namespace {

// One round of Chu-Liu/Edmonds on `n` nodes: each node's best incoming edge;
// if they form no cycle that is the answer, else the cycle is contracted
// into one node, the smaller problem solved, and the cycle expanded again.
std::vector<std::size_t> solve(const std::vector<std::vector<double>>& w) {
  const std::size_t n = w.size();
  std::vector<std::size_t> best(n, 0);
  for (std::size_t v = 1; v < n; ++v) {
    double top = kNoEdge;
    for (std::size_t u = 0; u < n; ++u)
      if (u != v && w[u][v] > top) top = w[u][v], best[v] = u;
    if (top == kNoEdge) throw UsageError("arborescence: a node has no incoming edge");
  }
  // Find a cycle among the chosen edges.
  std::vector<int> state(n, 0);  // 0 unseen, 1 on the current path, 2 done
  std::vector<std::size_t> cycle;
  for (std::size_t start = 1; start < n && cycle.empty(); ++start) {
    std::vector<std::size_t> path;
    std::size_t v = start;
    while (v != 0 && state[v] == 0) {
      state[v] = 1;
      path.push_back(v);
      v = best[v];
    }
    if (v != 0 && state[v] == 1) {
      for (auto it = std::find(path.begin(), path.end(), v); it != path.end(); ++it) cycle.push_back(*it);
    }
    for (std::size_t p : path) state[p] = 2;
  }
  if (cycle.empty()) return best;

  // Contract the cycle into node c of a graph with the other nodes renumbered.
  std::vector<bool> in_cycle(n, false);
  double cycle_weight = 0;
  for (std::size_t v : cycle) in_cycle[v] = true, cycle_weight += w[best[v]][v];
  std::vector<std::size_t> index(n);
  std::size_t m = 0;
  for (std::size_t v = 0; v < n; ++v)
    if (!in_cycle[v]) index[v] = m++;
  const std::size_t c = m++;
  for (std::size_t v : cycle) index[v] = c;
  std::vector<std::vector<double>> small(m, std::vector<double>(m, kNoEdge));
  // For each edge into the cycle, which cycle node it enters; out of it, which it leaves.
  std::vector<std::size_t> enters(m, 0), leaves(m, 0);
  for (std::size_t u = 0; u < n; ++u)
    for (std::size_t v = 0; v < n; ++v) {
      if (u == v || w[u][v] == kNoEdge || (in_cycle[u] && in_cycle[v])) continue;
      const std::size_t a = index[u], b = index[v];
      // Entering the cycle at v replaces v's cycle edge.
      const double value = in_cycle[v] ? w[u][v] - w[best[v]][v] + cycle_weight : w[u][v];
      if (value > small[a][b]) {
        small[a][b] = value;
        if (in_cycle[v]) enters[a] = v;
        if (in_cycle[u]) leaves[b] = u;
      }
    }
  const auto contracted = solve(small);
  std::vector<std::size_t> parent(n, 0);
  for (std::size_t v = 0; v < n; ++v) {
    if (in_cycle[v]) continue;
    const std::size_t p = contracted[index[v]];
    if (p == c) parent[v] = leaves[index[v]];
    else {
      for (std::size_t u = 0; u < n; ++u)
        if (!in_cycle[u] && index[u] == p) parent[v] = u;
    }
  }
  // The cycle keeps its edges except the one into the node entered from outside.
  std::size_t outside = 0;
  for (std::size_t u = 0; u < n; ++u)
    if (!in_cycle[u] && index[u] == contracted[c]) outside = u;
  const std::size_t entry = enters[contracted[c]];
  for (std::size_t v : cycle) parent[v] = v == entry ? outside : best[v];
  return parent;
}

}  // namespace

std::vector<std::size_t> max_arborescence(const std::vector<std::vector<double>>& weight) {
  for (const auto& row : weight) MDNA_CHECK(row.size() == weight.size(), "arborescence: the weight matrix is not square");
  if (weight.empty()) return {};
  auto parent = solve(weight);
  parent[0] = 0;
  return parent;
}

}  // namespace modeldna::lineage
