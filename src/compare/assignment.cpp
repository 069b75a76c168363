#include "modeldna/compare/assignment.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "modeldna/core/error.h"

namespace modeldna::compare {

// The shortest-augmenting-path form of the Hungarian algorithm: rows are added
// one at a time and the dual potentials u (rows) and v (columns) keep every
// reduced cost non-negative, so each row costs one O(rows * cols) Dijkstra-like
// sweep. Index 0 is a sentinel column; rows and columns are 1-based inside.
std::vector<int64_t> min_cost_assignment(const std::vector<double>& cost, int64_t rows, int64_t cols) {
  MDNA_CHECK(rows >= 0 && cols >= 0, "assignment: negative matrix size");
  MDNA_CHECK(rows <= cols, "assignment: more rows (" + std::to_string(rows) + ") than columns (" +
                               std::to_string(cols) + ")");
  MDNA_CHECK(static_cast<int64_t>(cost.size()) == rows * cols,
             "assignment: cost has " + std::to_string(cost.size()) + " entries, expected " +
                 std::to_string(rows * cols));
  for (double c : cost) MDNA_CHECK(std::isfinite(c), "assignment: non-finite cost");

  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> u(rows + 1, 0.0), v(cols + 1, 0.0);
  std::vector<int64_t> row_of(cols + 1, 0);  // row matched to each column, 0 = free
  std::vector<int64_t> way(cols + 1, 0);     // previous column on the augmenting path
  std::vector<double> min_slack(cols + 1);
  std::vector<char> used(cols + 1);

  for (int64_t i = 1; i <= rows; ++i) {
    row_of[0] = i;
    int64_t col = 0;
    std::fill(min_slack.begin(), min_slack.end(), inf);
    std::fill(used.begin(), used.end(), 0);
    do {
      used[col] = 1;
      const int64_t row = row_of[col];
      const double* cost_row = cost.data() + (row - 1) * cols;
      double delta = inf;
      int64_t next = 0;
      for (int64_t j = 1; j <= cols; ++j) {
        if (used[j]) continue;
        const double slack = cost_row[j - 1] - u[row] - v[j];
        if (slack < min_slack[j]) {
          min_slack[j] = slack;
          way[j] = col;
        }
        if (min_slack[j] < delta) {
          delta = min_slack[j];
          next = j;
        }
      }
      for (int64_t j = 0; j <= cols; ++j) {
        if (used[j]) {
          u[row_of[j]] += delta;
          v[j] -= delta;
        } else {
          min_slack[j] -= delta;
        }
      }
      col = next;
    } while (row_of[col] != 0);
    // Flip the augmenting path back to the sentinel.
    do {
      const int64_t prev = way[col];
      row_of[col] = row_of[prev];
      col = prev;
    } while (col != 0);
  }

  std::vector<int64_t> assignment(rows, -1);
  for (int64_t j = 1; j <= cols; ++j)
    if (row_of[j] != 0) assignment[row_of[j] - 1] = j - 1;
  return assignment;
}

}  // namespace modeldna::compare
