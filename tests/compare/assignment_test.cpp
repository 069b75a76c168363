#include "modeldna/compare/assignment.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <random>

#include "modeldna/core/error.h"
#include "test_support.h"

namespace modeldna::compare {
namespace {

double total(const std::vector<double>& cost, int64_t cols, const std::vector<int64_t>& assignment) {
  double sum = 0;
  for (size_t r = 0; r < assignment.size(); ++r) sum += cost[r * cols + assignment[r]];
  return sum;
}

// Every injective row -> column map, for checking small random cases.
double brute_force_min(const std::vector<double>& cost, int64_t rows, int64_t cols) {
  std::vector<int64_t> columns(cols);
  std::iota(columns.begin(), columns.end(), 0);
  double best = std::numeric_limits<double>::infinity();
  do {
    best = std::min(best, total(cost, cols, {columns.begin(), columns.begin() + rows}));
  } while (std::next_permutation(columns.begin(), columns.end()));
  return best;
}

TEST(Hungarian, Solves3x3ByHand) {
  // Optimum 1 + 2 + 2 = 5; the diagonal costs 6, every other permutation more.
  const std::vector<double> cost = {4, 1, 3,  //
                                    2, 0, 5,  //
                                    3, 2, 2};
  EXPECT_EQ(min_cost_assignment(cost, 3, 3), (std::vector<int64_t>{1, 0, 2}));
}

TEST(Hungarian, Solves4x4ByHand) {
  // Optimum 69 + 37 + 11 + 23 = 140; the greedy choice (row 2 takes its 5)
  // leads to 5 + 8 + 37 + 92 = 142 at best.
  const std::vector<double> cost = {82, 83, 69, 92,  //
                                    77, 37, 49, 92,  //
                                    11, 69, 5,  86,  //
                                    8,  9,  98, 23};
  const auto assignment = min_cost_assignment(cost, 4, 4);
  EXPECT_EQ(assignment, (std::vector<int64_t>{2, 1, 0, 3}));
  EXPECT_DOUBLE_EQ(total(cost, 4, assignment), 140);
}

TEST(Hungarian, MaximisesWhenCostsAreNegated) {
  // Similarity: each row is most similar to a different column.
  const std::vector<double> similarity = {0.1, 0.9, 0.0,  //
                                          0.0, 0.2, 0.8,  //
                                          0.7, 0.1, 0.3};
  std::vector<double> cost(similarity.size());
  std::transform(similarity.begin(), similarity.end(), cost.begin(), [](double s) { return -s; });
  EXPECT_EQ(min_cost_assignment(cost, 3, 3), (std::vector<int64_t>{1, 2, 0}));
}

TEST(Hungarian, MatchesBruteForceOnRandomMatrices) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> uniform(-5, 5);
  for (const auto& [rows, cols] : std::vector<std::pair<int64_t, int64_t>>{{5, 5}, {6, 6}, {3, 6}, {1, 4}}) {
    for (int trial = 0; trial < 10; ++trial) {
      std::vector<double> cost(rows * cols);
      for (auto& c : cost) c = uniform(rng);
      const auto assignment = min_cost_assignment(cost, rows, cols);
      ASSERT_EQ(static_cast<int64_t>(assignment.size()), rows);
      std::vector<int64_t> sorted = assignment;
      std::sort(sorted.begin(), sorted.end());
      EXPECT_EQ(std::unique(sorted.begin(), sorted.end()), sorted.end()) << "a column was used twice";
      EXPECT_NEAR(total(cost, cols, assignment), brute_force_min(cost, rows, cols), 1e-9);
    }
  }
}

TEST(Hungarian, HandlesEmptyAndTiedMatrices) {
  EXPECT_TRUE(min_cost_assignment({}, 0, 0).empty());
  const auto assignment = min_cost_assignment(std::vector<double>(9, 1.0), 3, 3);
  std::vector<int64_t> sorted = assignment;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, (std::vector<int64_t>{0, 1, 2}));
}

TEST(Hungarian, RejectsBadInput) {
  EXPECT_THROW_MSG(min_cost_assignment(std::vector<double>(6, 0.0), 3, 2), UsageError, "more rows");
  EXPECT_THROW_MSG(min_cost_assignment(std::vector<double>(5, 0.0), 2, 3), UsageError, "expected 6");
  EXPECT_THROW_MSG(min_cost_assignment({0.0, std::nan("")}, 1, 2), UsageError, "non-finite");
}

}  // namespace
}  // namespace modeldna::compare
