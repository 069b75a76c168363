// The test's numbers against values computed by hand and by brute force.
#include "modeldna/compare/stats.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

namespace modeldna::compare {
namespace {

TEST(Stats, NormalTailMatchesKnownValues) {
  EXPECT_NEAR(log10_normal_upper_tail(0), std::log10(0.5), 1e-12);
  EXPECT_NEAR(log10_normal_upper_tail(1.959963985), std::log10(0.025), 1e-6);
  EXPECT_NEAR(log10_normal_upper_tail(5), std::log10(2.866515719e-7), 1e-6);
  // Past the switch to the asymptotic series it still agrees with erfc
  // (which is representable up to z of about 37).
  EXPECT_NEAR(log10_normal_upper_tail(30.5), std::log10(0.5 * std::erfc(30.5 / std::sqrt(2.0))), 1e-6);
  EXPECT_NEAR(log10_normal_upper_tail(36), std::log10(0.5 * std::erfc(36 / std::sqrt(2.0))), 1e-6);
  // z = 40: log10 P = -349.4 (far below double precision).
  EXPECT_NEAR(log10_normal_upper_tail(40), -349.43, 0.01);
}

TEST(Stats, BonferroniMultipliesAndCaps) {
  EXPECT_NEAR(bonferroni_log10(std::log10(0.001), 10), std::log10(0.01), 1e-12);
  EXPECT_EQ(bonferroni_log10(std::log10(0.5), 10), 0.0);
  EXPECT_EQ(bonferroni_log10(-3, 0), 0.0);
}

// Exact permutation moments of S = sum_i C[i][sigma(i)] by enumerating all m!
// relabellings, against Hoeffding's formulas the test uses.
TEST(Stats, HoeffdingMomentsEqualTheExactPermutationMoments) {
  const int m = 6;
  std::mt19937 rng(3);
  std::normal_distribution<double> normal;
  std::vector<double> c(m * m);
  for (double& v : c) v = normal(rng);
  std::vector<int> sigma(m);
  std::iota(sigma.begin(), sigma.end(), 0);
  double sum = 0, sum_sq = 0;
  int count = 0;
  do {
    double s = 0;
    for (int i = 0; i < m; ++i) s += c[i * m + sigma[i]];
    sum += s;
    sum_sq += s * s;
    ++count;
  } while (std::next_permutation(sigma.begin(), sigma.end()));
  const double mean = sum / count, var = sum_sq / count - mean * mean;
  // The formulas, written out here independently of the implementation.
  double total = 0;
  std::vector<double> row(m), col(m);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < m; ++j) total += c[i * m + j], row[i] += c[i * m + j], col[j] += c[i * m + j];
  double ss = 0;
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < m; ++j) {
      const double d = c[i * m + j] - row[i] / m - col[j] / m + total / (m * m);
      ss += d * d;
    }
  EXPECT_NEAR(mean, total / m, 1e-9);
  EXPECT_NEAR(var, ss / (m - 1), 1e-9);
}

TEST(Stats, SmallTestsArePermutationExactAndConservative) {
  // The identity is the unique best pairing of a 4 x 4 matrix: exactly 1 of
  // the 24 relabellings reaches it, so p = (1 + 1/24 share) is about 1/24.
  std::vector<double> c = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
  const auto t = alignment_test(c, 4, 7, 20000);
  EXPECT_TRUE(t.exact);
  EXPECT_NEAR(std::pow(10.0, t.log10_p), 1.0 / 24, 0.005);
  EXPECT_DOUBLE_EQ(t.statistic, 1.0);
  EXPECT_DOUBLE_EQ(t.null_mean, 0.25);
  // A matrix with no preference for the diagonal: no evidence.
  std::vector<double> flat(16, 0.5);
  EXPECT_NEAR(alignment_test(flat, 4, 7, 1000).log10_p, 0.0, 1e-12);
}

TEST(Stats, AUniqueBestIdentityHasPOneOverMFactorial) {
  const int m = 10;
  std::mt19937 rng(3);
  std::normal_distribution<double> normal;
  std::vector<double> c(m * m);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < m; ++j) c[i * m + j] = (i == j ? 1.0 : 0.0) + 0.05 * normal(rng);
  const auto t = alignment_test(c, m, 1);
  EXPECT_TRUE(t.exact);
  EXPECT_EQ(t.permutations, 0);
  EXPECT_NEAR(t.log10_p, -std::log10(3628800.0), 1e-9);  // 10! = 3628800
  // Swap two columns: the identity is no longer the best pairing, so the
  // relabellings are drawn, and the p-value is Monte Carlo's (at best 1/20001).
  for (int i = 0; i < m; ++i) std::swap(c[i * m + 0], c[i * m + 1]);
  const auto swapped = alignment_test(c, m, 1);
  EXPECT_EQ(swapped.permutations, 20000);
  EXPECT_NEAR(swapped.log10_p, std::log10(1.0 / 20001), 1e-9);
}

TEST(Stats, SmallTestsStayCalibratedUnderTheNull) {
  // Independent 12 x 12 similarity matrices: with the sequential stop and
  // the exact rule, P(p <= 0.05) must stay at most 0.05.
  const int m = 12;
  std::mt19937 rng(11);
  std::normal_distribution<double> normal;
  int rejected = 0;
  const int trials = 400;
  for (int trial = 0; trial < trials; ++trial) {
    std::vector<double> c(m * m);
    for (double& v : c) v = normal(rng);
    rejected += alignment_test(c, m, static_cast<uint64_t>(trial), 2000).log10_p <= std::log10(0.05);
  }
  EXPECT_LT(rejected, 32);  // 20 expected; 32 is beyond the binomial's 99.5th percentile
}

TEST(Stats, LargeTestsUseTheCentralLimit) {
  const int m = 100;
  std::mt19937 rng(5);
  std::normal_distribution<double> normal;
  // Independent: p-values spread over (0, 1); strongly aligned: tiny p.
  int rejected = 0;
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<double> c(m * m);
    for (double& v : c) v = normal(rng);
    rejected += alignment_test(c, m, trial).log10_p < std::log10(0.05);
  }
  EXPECT_LT(rejected, 25);  // 10 expected at alpha 0.05; 25 is far in the binomial tail
  std::vector<double> aligned(m * m);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < m; ++j) aligned[i * m + j] = (i == j ? 1.0 : 0.0) + 0.1 * normal(rng);
  const auto t = alignment_test(aligned, m, 1);
  EXPECT_FALSE(t.exact);
  EXPECT_GT(t.z, 50);
  EXPECT_LT(t.log10_p, -500);
}

}  // namespace
}  // namespace modeldna::compare
