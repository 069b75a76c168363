// File: modeldna/lineage/arborescence.h
// Chu-Liu/Edmonds: the maximum-weight spanning arborescence of a complete
// directed graph, rooted at node 0. Torch-free.
#pragma once

#include <cstddef>
#include <limits>
#include <vector>

namespace modeldna::lineage {

/// An edge that may not be used.
inline constexpr double kNoEdge = -std::numeric_limits<double>::infinity();

/// weight[u][v] is the weight of u -> v (kNoEdge: absent; the diagonal is
/// ignored). Returns parent[v] for every v (parent[0] = 0), maximising the
/// total weight; UsageError when some node cannot be reached from node 0.
/// O(n^3) in the worst case.
std::vector<std::size_t> max_arborescence(const std::vector<std::vector<double>>& weight);

}  // namespace modeldna::lineage
