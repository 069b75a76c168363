#include "modeldna/compare/stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "modeldna/compare/assignment.h"
#include "modeldna/core/error.h"

namespace modeldna::compare {

double log10_normal_upper_tail(double z) {
  if (z < 30) return std::log10(0.5 * std::erfc(z / std::sqrt(2.0)));
  // Mills ratio: P(Z >= z) = phi(z)/z * (1 - 1/z^2 + 3/z^4 - ...).
  const double z2 = z * z;
  const double series = 1 - 1 / z2 + 3 / (z2 * z2) - 15 / (z2 * z2 * z2);
  return (-z2 / 2 - std::log(z * std::sqrt(2 * M_PI)) + std::log(series)) / std::log(10.0);
}

namespace {

// xoshiro256** seeded by splitmix64, and Lemire's unbiased bounded draw: the
// permutations are uniform, and drawing them is a few times faster than
// std::shuffle over mt19937_64 (the Monte Carlo dominates many-model trees).
class PermutationRng {
 public:
  explicit PermutationRng(uint64_t seed) {
    for (auto& w : s_) {
      seed += 0x9e3779b97f4a7c15ull;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      w = z ^ (z >> 31);
    }
  }
  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9, t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  /// Uniform in [0, n).
  std::size_t below(std::size_t n) {
    const uint64_t bound = n;
    __uint128_t m = static_cast<__uint128_t>(next()) * bound;
    uint64_t low = static_cast<uint64_t>(m);
    if (low < bound) {
      const uint64_t threshold = -bound % bound;
      while (low < threshold) {
        m = static_cast<__uint128_t>(next()) * bound;
        low = static_cast<uint64_t>(m);
      }
    }
    return static_cast<std::size_t>(m >> 64);
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

// Monte Carlo stops after this many relabellings reach S (Besag and
// Clifford 1991): an unremarkable S is settled in a few dozen draws.
constexpr int64_t kSequentialStop = 20;

// Whether the identity is the one best relabelling: the optimal assignment
// is the identity, and no row or column is constant (which would let units
// swap at no cost). Continuous similarities tie with probability zero.
bool identity_is_the_unique_best(const std::vector<double>& c, std::size_t m) {
  for (std::size_t i = 0; i < m; ++i) {
    double row_lo = INFINITY, row_hi = -INFINITY, col_lo = INFINITY, col_hi = -INFINITY;
    for (std::size_t j = 0; j < m; ++j) {
      row_lo = std::min(row_lo, c[i * m + j]), row_hi = std::max(row_hi, c[i * m + j]);
      col_lo = std::min(col_lo, c[j * m + i]), col_hi = std::max(col_hi, c[j * m + i]);
    }
    if (!(row_hi - row_lo > 1e-9) || !(col_hi - col_lo > 1e-9)) return false;
  }
  // A swap of two units that gains is a cheap proof that the identity is not
  // the optimum (most unrelated matrices); only the rest need the assignment.
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = i + 1; j < m; ++j)
      if (c[i * m + j] + c[j * m + i] > c[i * m + i] + c[j * m + j] + 1e-9) return false;
  std::vector<double> cost(c.size());
  for (std::size_t k = 0; k < c.size(); ++k) cost[k] = -c[k];
  const auto best = min_cost_assignment(cost, static_cast<int64_t>(m), static_cast<int64_t>(m));
  double best_sum = 0, trace = 0;
  for (std::size_t i = 0; i < m; ++i) best_sum += c[i * m + static_cast<std::size_t>(best[i])], trace += c[i * m + i];
  for (std::size_t i = 0; i < m; ++i)
    if (best[i] != static_cast<int64_t>(i)) return false;
  return trace >= best_sum;
}

// The sum of squares of c with its row and column means removed. The means
// are divided out once, not per cell (same values: the hot loop of find).
double double_centred_squares(const std::vector<double>& c, const std::vector<double>& row_sums,
                              const std::vector<double>& col_sums, double grand) {
  const std::size_t m = row_sums.size();
  const auto n = static_cast<double>(m);
  std::vector<double> col_means(m);
  for (std::size_t j = 0; j < m; ++j) col_means[j] = col_sums[j] / n;
  double ss = 0;
  for (std::size_t i = 0; i < m; ++i) {
    const double row_mean = row_sums[i] / n;
    for (std::size_t j = 0; j < m; ++j) {
      const double d = c[i * m + j] - row_mean - col_means[j] + grand;
      ss += d * d;
    }
  }
  return ss;
}

}  // namespace

AlignmentTest alignment_test(const std::vector<double>& c, int64_t m, uint64_t seed, int64_t permutations) {
  MDNA_ASSERT(m >= 2 && static_cast<int64_t>(c.size()) == m * m, "alignment_test: bad matrix");
  AlignmentTest t;
  const auto M = static_cast<std::size_t>(m);
  const auto n = static_cast<double>(m);  // the unit count in arithmetic
  double trace = 0, total = 0;
  std::vector<double> row(M, 0), col(M, 0);
  for (std::size_t i = 0; i < M; ++i)
    for (std::size_t j = 0; j < M; ++j) {
      const double v = c[i * M + j];
      total += v;
      row[i] += v;
      col[j] += v;
      if (i == j) trace += v;
    }
  t.statistic = trace / n;
  t.null_mean = total / (n * n);
  const double expected = total / n;
  if (m < kSmallUnits) {
    // Exact in law: relabel the target's units at random.
    t.exact = true;
    t.permutations = permutations;
    if (identity_is_the_unique_best(c, M)) {
      // Only the identity reaches S: p = 1 / m!, exactly.
      t.permutations = 0;
      t.log10_p = -std::lgamma(n + 1) / std::log(10.0);
    } else {
      PermutationRng rng(seed);
      std::vector<std::size_t> sigma(M);
      std::iota(sigma.begin(), sigma.end(), 0);
      int64_t at_least = 0, drawn = 0;
      for (; drawn < permutations; ++drawn) {
        // Fisher-Yates: every relabelling equally likely.
        for (std::size_t i = M - 1; i > 0; --i) std::swap(sigma[i], sigma[rng.below(i + 1)]);
        double sum = 0;
        for (std::size_t i = 0; i < M; ++i) sum += c[i * M + sigma[i]];
        if (sum >= trace - 1e-12 * std::abs(trace)) ++at_least;  // ties count against derivation
        if (at_least == kSequentialStop) break;
      }
      t.permutations = drawn + (at_least == kSequentialStop);
      // Besag & Clifford's sequential p-value when stopped early, else the usual one.
      t.log10_p = at_least == kSequentialStop
                      ? std::log10(static_cast<double>(kSequentialStop) / static_cast<double>(t.permutations))
                      : std::log10(static_cast<double>(1 + at_least) / static_cast<double>(permutations + 1));
    }
    const double sd = std::sqrt(double_centred_squares(c, row, col, total / (n * n)) / (n - 1));
    t.z = sd > 0 ? (trace - expected) / sd : 0;
    return t;
  }
  const double sd = std::sqrt(double_centred_squares(c, row, col, total / (n * n)) / (n - 1));
  if (!(sd > 0)) {
    t.z = 0;
    t.log10_p = 0;  // no variation: no evidence
    return t;
  }
  t.z = (trace - expected) / sd;
  t.log10_p = std::min(0.0, log10_normal_upper_tail(t.z));
  return t;
}

double bonferroni_log10(double min_log10_p, int64_t tests) {
  if (tests <= 0) return 0;
  return std::min(0.0, min_log10_p + std::log10(static_cast<double>(tests)));
}

}  // namespace modeldna::compare
