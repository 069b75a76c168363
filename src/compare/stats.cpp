#include "modeldna/compare/stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "modeldna/core/error.h"

namespace modeldna::compare {

double log10_normal_upper_tail(double z) {
  if (z < 30) return std::log10(0.5 * std::erfc(z / std::sqrt(2.0)));
  // Mills ratio: P(Z >= z) = phi(z)/z * (1 - 1/z^2 + 3/z^4 - ...).
  const double z2 = z * z;
  const double series = 1 - 1 / z2 + 3 / (z2 * z2) - 15 / (z2 * z2 * z2);
  return (-z2 / 2 - std::log(z * std::sqrt(2 * M_PI)) + std::log(series)) / std::log(10.0);
}

AlignmentTest alignment_test(const std::vector<double>& c, int64_t m, uint64_t seed, int64_t permutations) {
  MDNA_ASSERT(m >= 2 && static_cast<int64_t>(c.size()) == m * m, "alignment_test: bad matrix");
  AlignmentTest t;
  const auto M = static_cast<std::size_t>(m);
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
  t.statistic = trace / m;
  t.null_mean = total / (static_cast<double>(m) * m);
  const double expected = total / m;
  if (m < kSmallUnits) {
    // Exact in law: relabel the target's units at random.
    t.exact = true;
    t.permutations = permutations;
    std::mt19937_64 rng(seed);
    std::vector<std::size_t> sigma(M);
    std::iota(sigma.begin(), sigma.end(), 0);
    int64_t at_least = 0;
    for (int64_t b = 0; b < permutations; ++b) {
      std::shuffle(sigma.begin(), sigma.end(), rng);
      double s = 0;
      for (std::size_t i = 0; i < M; ++i) s += c[i * M + sigma[i]];
      if (s >= trace - 1e-12 * std::abs(trace)) ++at_least;  // ties count against derivation
    }
    t.log10_p = std::log10(static_cast<double>(1 + at_least) / static_cast<double>(permutations + 1));
    double sd = 0;
    const double grand = total / (static_cast<double>(m) * m);
    for (std::size_t i = 0; i < M; ++i)
      for (std::size_t j = 0; j < M; ++j) {
        const double d = c[i * M + j] - row[i] / m - col[j] / m + grand;
        sd += d * d;
      }
    sd = std::sqrt(sd / (m - 1));
    t.z = sd > 0 ? (trace - expected) / sd : 0;
    return t;
  }
  const double grand = total / (static_cast<double>(m) * m);
  double ss = 0;
  for (std::size_t i = 0; i < M; ++i)
    for (std::size_t j = 0; j < M; ++j) {
      const double d = c[i * M + j] - row[i] / m - col[j] / m + grand;
      ss += d * d;
    }
  const double sd = std::sqrt(ss / (m - 1));
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
