#include "modeldna/verdict/metrics.h"

#include <cmath>

#include "test_support.h"

namespace modeldna::verdict {
namespace {

TEST(Metrics, AucByHand) {
  // Pairs (p, n): 0.9>0.1, 0.9>0.5, 0.4>0.1, 0.4<0.5  -> 3 of 4.
  EXPECT_DOUBLE_EQ(roc_auc({{0.9, 0.4}, {0.1, 0.5}}), 0.75);
  EXPECT_DOUBLE_EQ(roc_auc({{0.5}, {0.5}}), 0.5);  // a tie counts half
  EXPECT_TRUE(std::isnan(roc_auc({{0.5}, {}})));
}

TEST(Metrics, TprAtLowFprAllowsNoFalsePositiveWithFewNegatives) {
  // 10 negatives, max 0.9: at 1% FPR no negative may pass, so only positives > 0.9 count.
  LabelledScores s{{0.95, 0.92, 0.9, 0.5}, {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9}};
  EXPECT_DOUBLE_EQ(tpr_at_fpr(s, 0.01), 0.5);
  // At 10% FPR one negative (0.9) may pass: threshold 0.85, so 0.9 counts too.
  EXPECT_DOUBLE_EQ(tpr_at_fpr(s, 0.10), 0.75);
}

TEST(Metrics, AccuracyAndBestThreshold) {
  LabelledScores s{{0.8, 0.7}, {0.2, 0.6}};
  EXPECT_DOUBLE_EQ(accuracy_at(s, 0.5), 0.75);
  const double t = best_threshold(s);
  EXPECT_GT(t, 0.6);
  EXPECT_LT(t, 0.7);
  EXPECT_DOUBLE_EQ(accuracy_at(s, t), 1.0);
}

TEST(Metrics, FormatsForTables) {
  EXPECT_EQ(format_metric(0.73049), "0.730");
  EXPECT_EQ(format_metric(std::nan("")), "n/a");
}

TEST(Metrics, RocCurveEndsAtOneOne) {
  const auto curve = roc_curve({{0.8, 0.3}, {0.5}});
  ASSERT_EQ(curve.size(), 4u);
  EXPECT_EQ(curve.front(), std::make_pair(0.0, 0.0));
  EXPECT_EQ(curve[1], std::make_pair(0.0, 0.5));
  EXPECT_EQ(curve.back(), std::make_pair(1.0, 1.0));
}

}  // namespace
}  // namespace modeldna::verdict
