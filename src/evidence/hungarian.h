// Private to the evidence module: the optimal assignment behind "weights-perm"
// (matching one model's hidden units to another's).
#pragma once

#include <cstdint>
#include <vector>

namespace modeldna::evidence::detail {

/// Minimum-cost assignment of every row to a distinct column of a row-major
/// `rows` x `cols` cost matrix (rows <= cols). Returns the column given to each
/// row. Kuhn-Munkres with potentials, O(rows^2 * cols); UsageError for a
/// malformed matrix or a non-finite cost.
std::vector<int64_t> hungarian_min_cost(const std::vector<double>& cost, int64_t rows, int64_t cols);

}  // namespace modeldna::evidence::detail
