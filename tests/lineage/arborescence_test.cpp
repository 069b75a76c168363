// Chu-Liu/Edmonds against exhaustive search on small random digraphs (with
// missing edges and ties), and on hand-made graphs whose answer is known.
#include "modeldna/lineage/arborescence.h"

#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "modeldna/core/error.h"

namespace modeldna::lineage {
namespace {

double total(const std::vector<std::vector<double>>& w, const std::vector<std::size_t>& parent) {
  double t = 0;
  for (std::size_t v = 1; v < w.size(); ++v) t += w[parent[v]][v];
  return t;
}

bool is_arborescence(const std::vector<std::vector<double>>& w, const std::vector<std::size_t>& parent) {
  for (std::size_t v = 1; v < w.size(); ++v) {
    if (parent[v] == v || w[parent[v]][v] == kNoEdge) return false;
    std::size_t u = v;
    for (std::size_t steps = 0; u != 0; ++steps) {
      if (steps > w.size()) return false;  // a cycle
      u = parent[u];
    }
  }
  return true;
}

double best_by_search(const std::vector<std::vector<double>>& w) {
  const std::size_t n = w.size();
  std::vector<std::size_t> parent(n, 0);
  double best = kNoEdge;
  std::function<void(std::size_t)> go = [&](std::size_t v) {
    if (v == n) {
      if (is_arborescence(w, parent)) best = std::max(best, total(w, parent));
      return;
    }
    for (std::size_t u = 0; u < n; ++u) {
      if (u == v || w[u][v] == kNoEdge) continue;
      parent[v] = u;
      go(v + 1);
    }
  };
  go(1);
  return best;
}

TEST(Arborescence, MatchesExhaustiveSearchOnRandomGraphs) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> weight(0, 10);
  std::uniform_int_distribution<int> coarse(0, 3);
  for (int trial = 0; trial < 400; ++trial) {
    const std::size_t n = 2 + static_cast<std::size_t>(trial % 6);  // up to 7 nodes
    std::vector<std::vector<double>> w(n, std::vector<double>(n, kNoEdge));
    for (std::size_t u = 0; u < n; ++u)
      for (std::size_t v = 1; v < n; ++v) {
        if (u == v) continue;
        if (u != 0 && rng() % 5 == 0) continue;  // missing edges (the root reaches every node)
        w[u][v] = trial % 2 ? weight(rng) : coarse(rng);  // ties in half the trials
      }
    SCOPED_TRACE("trial " + std::to_string(trial));
    const auto parent = max_arborescence(w);
    ASSERT_TRUE(is_arborescence(w, parent));
    EXPECT_NEAR(total(w, parent), best_by_search(w), 1e-9);
  }
}

TEST(Arborescence, BreaksTheCycleOfMutualBestParents) {
  // 1 and 2 prefer each other (weight 9); the root reaches 1 with 5, 2 with 1.
  const double x = kNoEdge;
  const std::vector<std::vector<double>> w = {{x, 5, 1}, {x, x, 9}, {x, 9, x}};
  const auto parent = max_arborescence(w);
  EXPECT_EQ(parent[1], 0u);
  EXPECT_EQ(parent[2], 1u);
}

TEST(Arborescence, RefusesAnUnreachableNode) {
  const double x = kNoEdge;
  EXPECT_THROW(max_arborescence({{x, 1, x}, {x, x, x}, {x, x, x}}), UsageError);
}

}  // namespace
}  // namespace modeldna::lineage
