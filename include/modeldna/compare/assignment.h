// File: modeldna/compare/assignment.h
// The optimal assignment (linear assignment problem) behind unit matching:
// which hidden unit of one model is which of another's. Torch-free.
#pragma once

#include <cstdint>
#include <vector>

namespace modeldna::compare {

/// Minimum-cost assignment of every row to a distinct column of a row-major
/// `rows` x `cols` cost matrix (rows <= cols). Returns the column given to each
/// row. Kuhn-Munkres with potentials, O(rows^2 * cols); UsageError for a
/// malformed matrix or a non-finite cost.
std::vector<int64_t> min_cost_assignment(const std::vector<double>& cost, int64_t rows, int64_t cols);

}  // namespace modeldna::compare
