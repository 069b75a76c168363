// File: modeldna/compare/stats.h
// The calibrated test behind compare's white-box evidence, and the numbers
// it needs in log space (fine-tunes reach z ~ 100, p ~ 1e-2000, far below
// double precision). Torch-free.
//
// The null: the target was trained from an initialisation independent of the
// source's. Hidden units are then exchangeable: relabelling the target's units
// leaves the joint law of (source, target) unchanged, so the matched-row
// statistic S = sum_i C[i][i] of a unit-similarity matrix C has a known
// permutation distribution (docs/compare.md).
#pragma once

#include <cstdint>
#include <vector>

namespace modeldna::compare {

/// log10 of the upper tail of the standard normal, P(Z >= z), accurate far
/// into the tail (an asymptotic series beyond z = 30).
double log10_normal_upper_tail(double z);

/// The matched-row test on an m x m similarity matrix (row-major, m >= 2):
/// the observed S = trace(C) against its permutation distribution.
struct AlignmentTest {
  double statistic = 0;    // S / m: the mean similarity of matched rows
  double null_mean = 0;    // E[S] / m: the mean similarity of all row pairs
  double z = 0;            // (S - E[S]) / sd(S)
  double log10_p = 0;      // one-sided: large S is evidence of derivation
  bool exact = false;      // an exact permutation p-value (small m), else the combinatorial CLT
  int64_t permutations = 0;  // relabellings drawn (0: the identity is the unique best, p = 1/m!)
};

/// m < kSmallUnits: when the identity is the one best relabelling (optimal
/// assignment, no constant row or column), p = 1/m! exactly; otherwise Monte
/// Carlo over up to `permutations` random relabellings (seeded),
/// p = (1 + #{S_sigma >= S}) / (permutations + 1), or Besag and Clifford's
/// h / L when the h = 20th relabelling reaching S comes at draw L;
/// otherwise Hoeffding's combinatorial central limit theorem: E[S] = sum C / m,
/// Var[S] = sum D^2 / (m - 1) with D the doubly centred C, p = P(Z >= z).
inline constexpr int64_t kSmallUnits = 32;
AlignmentTest alignment_test(const std::vector<double>& similarity, int64_t m, uint64_t seed,
                             int64_t permutations = 20000);

/// Bonferroni: a p-value for "at least one of k tests rejects", valid under
/// any dependence between them. Inputs and output are log10 p.
double bonferroni_log10(double min_log10_p, int64_t tests);

}  // namespace modeldna::compare
