#include "modeldna/verdict/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

namespace modeldna::verdict {

double roc_auc(const LabelledScores& s) {
  if (s.positive.empty() || s.negative.empty()) return std::numeric_limits<double>::quiet_NaN();
  double wins = 0;
  for (double p : s.positive)
    for (double n : s.negative) wins += p > n ? 1.0 : (p == n ? 0.5 : 0.0);
  return wins / (static_cast<double>(s.positive.size()) * static_cast<double>(s.negative.size()));
}

double tpr_at_fpr(const LabelledScores& s, double max_fpr) {
  if (s.positive.empty() || s.negative.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::vector<double> neg = s.negative;
  std::sort(neg.begin(), neg.end(), std::greater<>());
  // Allowed false positives: floor(max_fpr * n); the threshold is the next negative score.
  const auto allowed = static_cast<size_t>(std::floor(max_fpr * static_cast<double>(neg.size()) + 1e-12));
  const double threshold = neg[std::min(allowed, neg.size() - 1)];
  const auto hits = std::count_if(s.positive.begin(), s.positive.end(), [&](double p) { return p > threshold; });
  return static_cast<double>(hits) / static_cast<double>(s.positive.size());
}

double accuracy_at(const LabelledScores& s, double threshold) {
  const size_t total = s.positive.size() + s.negative.size();
  if (total == 0) return std::numeric_limits<double>::quiet_NaN();
  const auto tp = std::count_if(s.positive.begin(), s.positive.end(), [&](double p) { return p >= threshold; });
  const auto tn = std::count_if(s.negative.begin(), s.negative.end(), [&](double n) { return n < threshold; });
  return static_cast<double>(tp + tn) / static_cast<double>(total);
}

double best_threshold(const LabelledScores& s) {
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
  std::vector<std::pair<double, double>> points = {{0.0, 0.0}};
  if (s.positive.empty() || s.negative.empty()) return points;
  std::vector<double> thresholds = s.positive;
  thresholds.insert(thresholds.end(), s.negative.begin(), s.negative.end());
  std::sort(thresholds.begin(), thresholds.end(), std::greater<>());
  thresholds.erase(std::unique(thresholds.begin(), thresholds.end()), thresholds.end());
  const double np = static_cast<double>(s.positive.size()), nn = static_cast<double>(s.negative.size());
  for (double t : thresholds) {
    const auto tp = std::count_if(s.positive.begin(), s.positive.end(), [&](double p) { return p >= t; });
    const auto fp = std::count_if(s.negative.begin(), s.negative.end(), [&](double n) { return n >= t; });
    points.emplace_back(static_cast<double>(fp) / nn, static_cast<double>(tp) / np);
  }
  return points;
}

}  // namespace modeldna::verdict
