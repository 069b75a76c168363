#include "modeldna/metrics/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "modeldna/core/error.h"

namespace modeldna::metrics {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double positives(const LabelledScores& s) { return static_cast<double>(s.positive.size()) + static_cast<double>(s.positive_abstained); }
double negatives(const LabelledScores& s) { return static_cast<double>(s.negative.size()) + static_cast<double>(s.negative_abstained); }

void check_finite(const LabelledScores& s) {
  for (const auto* side : {&s.positive, &s.negative})
    for (double v : *side) MDNA_CHECK(std::isfinite(v), "a non-finite score among labelled pairs: abstain instead");
}

}  // namespace

void LabelledScores::add(bool derived, std::optional<double> score) {
  if (score) MDNA_CHECK(std::isfinite(*score), "a non-finite score: abstain instead");
  if (score) (derived ? positive : negative).push_back(*score);
  else ++(derived ? positive_abstained : negative_abstained);
}

LabelledScores against(const LabelledScores& derived, const LabelledScores& independent) {
  return {derived.positive, independent.negative, derived.positive_abstained, independent.negative_abstained};
}

double roc_auc(const LabelledScores& s) {
  check_finite(s);
  if (positives(s) == 0 || negatives(s) == 0) return kNaN;
  double wins = 0;
  for (double p : s.positive) {
    for (double n : s.negative) wins += p > n ? 1.0 : (p == n ? 0.5 : 0.0);
    wins += static_cast<double>(s.negative_abstained);  // every score beats an abstention
  }
  wins += 0.5 * static_cast<double>(s.positive_abstained) * static_cast<double>(s.negative_abstained);
  return wins / (positives(s) * negatives(s));
}

double auc_p_value(int64_t positives, int64_t negatives, double auc) {
  MDNA_CHECK(positives >= 1 && negatives >= 1 && positives * negatives <= 2500,
             "an exact AUC p-value needs 1 to 2500 positive x negative pairs");
  MDNA_CHECK(auc >= 0 && auc <= 1, "an AUC lies in [0, 1]");
  const auto m = static_cast<std::size_t>(positives), n = static_cast<std::size_t>(negatives);
  // ways[j][u]: orderings of i positives and j negatives in which the
  // positives win u of the i x j comparisons, built up over i (sums only, so
  // the smallest tail counts stay exact).
  std::vector<std::vector<double>> ways(n + 1, std::vector<double>(m * n + 1, 0.0));
  for (auto& row : ways) row[0] = 1;  // i = 0
  for (std::size_t i = 1; i <= m; ++i) {
    std::vector<std::vector<double>> next(n + 1, std::vector<double>(m * n + 1, 0.0));
    next[0][0] = 1;
    for (std::size_t j = 1; j <= n; ++j)
      for (std::size_t u = 0; u <= i * j; ++u)
        // The highest-ranked item is a positive (beating all j negatives) or a negative.
        next[j][u] = (u >= j ? ways[j][u - j] : 0.0) + next[j - 1][u];
    ways = std::move(next);
  }
  const auto observed = static_cast<std::size_t>(std::floor(auc * static_cast<double>(m * n) + 1e-9));
  double tail = 0, total = 0;
  for (std::size_t u = 0; u <= m * n; ++u) {
    total += ways[n][u];
    if (u >= observed) tail += ways[n][u];
  }
  return tail / total;
}

double tpr_at_fpr(const LabelledScores& s, double max_fpr) {
  check_finite(s);
  if (positives(s) == 0 || negatives(s) == 0) return kNaN;
  std::vector<double> neg = s.negative;
  std::sort(neg.begin(), neg.end(), std::greater<>());
  // Allowed false positives: floor(max_fpr * n); the threshold is the next
  // negative score, or below every score when the scored negatives are within
  // the allowance (abstentions are never false positives).
  const auto allowed = static_cast<size_t>(std::floor(max_fpr * negatives(s) + 1e-12));
  const auto hits = std::count_if(s.positive.begin(), s.positive.end(), [&](double p) {
    return allowed >= neg.size() || p > neg[allowed];
  });
  return static_cast<double>(hits) / positives(s);
}

double accuracy_at(const LabelledScores& s, double threshold) {
  check_finite(s);
  const double total = positives(s) + negatives(s);
  if (total == 0) return kNaN;
  const auto tp = std::count_if(s.positive.begin(), s.positive.end(), [&](double p) { return p >= threshold; });
  const auto tn = std::count_if(s.negative.begin(), s.negative.end(), [&](double n) { return n < threshold; });
  return (static_cast<double>(tp + tn) + static_cast<double>(s.negative_abstained)) / total;
}

double best_threshold(const LabelledScores& s) {
  check_finite(s);
  std::vector<double> all = s.positive;
  all.insert(all.end(), s.negative.begin(), s.negative.end());
  if (all.empty()) return 0.0;
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  double best = all.front(), best_acc = -1;
  // Candidate thresholds: midpoints between consecutive distinct scores, and the ends.
  std::vector<double> candidates = {all.front(), all.back() + 1e-9};
  for (size_t i = 0; i + 1 < all.size(); ++i) candidates.push_back((all[i] + all[i + 1]) / 2);
  std::sort(candidates.begin(), candidates.end());
  for (double t : candidates) {
    const double acc = accuracy_at(s, t);
    if (acc > best_acc) best_acc = acc, best = t;
  }
  return best;
}

std::string format_metric(double value) {
  if (std::isnan(value)) return "n/a";
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(3);
  out << value;
  return out.str();
}

std::vector<std::pair<double, double>> roc_curve(const LabelledScores& s) {
  check_finite(s);
  std::vector<std::pair<double, double>> points = {{0.0, 0.0}};
  if (positives(s) == 0 || negatives(s) == 0) return points;
  std::vector<double> thresholds = s.positive;
  thresholds.insert(thresholds.end(), s.negative.begin(), s.negative.end());
  std::sort(thresholds.begin(), thresholds.end(), std::greater<>());
  thresholds.erase(std::unique(thresholds.begin(), thresholds.end()), thresholds.end());
  const double np = positives(s), nn = negatives(s);
  for (double t : thresholds) {
    const auto tp = std::count_if(s.positive.begin(), s.positive.end(), [&](double p) { return p >= t; });
    const auto fp = std::count_if(s.negative.begin(), s.negative.end(), [&](double n) { return n >= t; });
    points.emplace_back(static_cast<double>(fp) / nn, static_cast<double>(tp) / np);
  }
  // Calling the abstentions "derived" too reaches the corner.
  if (s.positive_abstained || s.negative_abstained) points.emplace_back(1.0, 1.0);
  return points;
}

}  // namespace modeldna::metrics
