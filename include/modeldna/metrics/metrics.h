// File: modeldna/metrics/metrics.h
// Scoring a detector on labelled pairs. Torch-free. Labels: true = derived.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace modeldna::metrics {

/// Scores of labelled pairs. A detector that cannot compare a pair abstains:
/// the pair is counted, never given a number; an abstention is always called
/// "not derived" and ranks below every score (tied with other abstentions).
/// Scores must be finite (UsageError otherwise: a NaN is not evidence).
struct LabelledScores {
  std::vector<double> positive;  // scores of derived pairs
  std::vector<double> negative;  // scores of independent pairs
  int64_t positive_abstained = 0;
  int64_t negative_abstained = 0;

  /// Adds one pair: its score, or an abstention when `score` is empty.
  void add(bool derived, std::optional<double> score);
};

/// The derived pairs of `derived` against the independent pairs of `independent`
/// (groups kept apart, as ProvBench keeps relations and kinds of negative).
LabelledScores against(const LabelledScores& derived, const LabelledScores& independent);

/// Area under the ROC curve: P(score of a random positive > score of a random
/// negative), ties counting one half. NaN when either side is empty.
double roc_auc(const LabelledScores& s);

/// How often `positives` and `negatives` pairs ranked at random reach an AUC
/// of at least `auc`: the exact one-sided Mann-Whitney p-value, so that an AUC
/// over a handful of pairs can be told from luck. Ties (AUC in half steps)
/// are rounded against the observation (conservative). Exact up to
/// positives x negatives = 2500; UsageError beyond, or for an AUC outside [0, 1].
double auc_p_value(int64_t positives, int64_t negatives, double auc);

/// The true-positive rate at the strictest threshold whose false-positive rate
/// is at most `max_fpr` (a pair is called derived when score > threshold).
/// With fewer than 1/max_fpr negatives this means no false positive at all.
double tpr_at_fpr(const LabelledScores& s, double max_fpr);

/// Fraction of pairs on the right side of `threshold` (derived iff score >= threshold).
double accuracy_at(const LabelledScores& s, double threshold);

/// A threshold between the classes: the midpoint of the gap that maximises
/// accuracy on `s` (for calibration on a training split); abstentions count
/// as calls of "not derived" whatever the threshold.
double best_threshold(const LabelledScores& s);

/// A metric for a table: fixed with 3 decimals, "n/a" for NaN (no pairs).
std::string format_metric(double value);

/// ROC curve points (fpr, tpr) from the strictest threshold to the loosest.
std::vector<std::pair<double, double>> roc_curve(const LabelledScores& s);

}  // namespace modeldna::metrics
