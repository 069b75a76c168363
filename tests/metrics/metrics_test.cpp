#include "modeldna/metrics/metrics.h"

#include <cmath>

#include "modeldna/core/error.h"
#include "test_support.h"

namespace modeldna::metrics {
namespace {

TEST(Metrics, AucByHand) {
  // Pairs (p, n): 0.9>0.1, 0.9>0.5, 0.4>0.1, 0.4<0.5  -> 3 of 4.
  EXPECT_DOUBLE_EQ(roc_auc({{0.9, 0.4}, {0.1, 0.5}}), 0.75);
  EXPECT_DOUBLE_EQ(roc_auc({{0.5}, {0.5}}), 0.5);  // a tie counts half
  EXPECT_TRUE(std::isnan(roc_auc({{0.5}, {}})));
}

// By hand: two and two pairs have 6 orderings, with U (positive wins) =
// 0, 1, 2, 2, 3, 4; one negative among three positives has U uniform on 0..3;
// a perfect AUC for 20 and 2 is one ordering of C(22, 2) = 231.
TEST(Metrics, AucPValueCountsOrderings) {
  EXPECT_DOUBLE_EQ(auc_p_value(2, 2, 1.0), 1.0 / 6);
  EXPECT_DOUBLE_EQ(auc_p_value(2, 2, 0.75), 2.0 / 6);
  EXPECT_DOUBLE_EQ(auc_p_value(2, 2, 0.5), 4.0 / 6);
  EXPECT_DOUBLE_EQ(auc_p_value(2, 2, 0.625), 4.0 / 6);  // a tie rounds against the observation
  EXPECT_DOUBLE_EQ(auc_p_value(2, 2, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(auc_p_value(3, 1, 2.0 / 3), 0.5);
  EXPECT_NEAR(auc_p_value(20, 2, 1.0), 1.0 / 231, 1e-15);
  // 50 x 50 at AUC 0.5: about half, a little more (the median's own mass).
  const double half = auc_p_value(50, 50, 0.5);
  EXPECT_GT(half, 0.5);
  EXPECT_LT(half, 0.52);
  EXPECT_THROW_MSG(auc_p_value(51, 50, 0.5), UsageError, "2500");
  EXPECT_THROW_MSG(auc_p_value(2, 2, 1.5), UsageError, "[0, 1]");
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

TEST(Metrics, AbstentionsAreCalledNotDerivedAndRankBelowEveryScore) {
  // One scored and one abstained pair on each side, by hand:
  // (0.9, 0.5) 1, (0.9, abstained) 1, (abstained, 0.5) 0, (abstained, abstained) 1/2.
  LabelledScores s;
  s.add(true, 0.9);
  s.add(true, std::nullopt);
  s.add(false, 0.5);
  s.add(false, std::nullopt);
  EXPECT_DOUBLE_EQ(roc_auc(s), 2.5 / 4);
  // At threshold 0.7: 0.9 right, 0.5 right, the abstained negative right, the abstained positive wrong.
  EXPECT_DOUBLE_EQ(accuracy_at(s, 0.7), 0.75);
  // One false positive allowed of two negatives: the scored negative may pass, the abstained positive never does.
  EXPECT_DOUBLE_EQ(tpr_at_fpr(s, 0.5), 0.5);
  EXPECT_DOUBLE_EQ(tpr_at_fpr(s, 0.01), 0.5);  // 0.9 > 0.5 without any false positive
  // The threshold is chosen among scores; abstentions never move it to "call everything derived".
  const double t = best_threshold(s);
  EXPECT_GT(t, 0.5);
  EXPECT_LE(t, 0.9);
  EXPECT_EQ(roc_curve(s).back(), std::make_pair(1.0, 1.0));
  // Groups kept apart and put together.
  const auto both = against(s, s);
  EXPECT_EQ(both.positive_abstained, 1);
  EXPECT_EQ(both.negative_abstained, 1);
  // Only abstentions on one side: every scored pair of the other side beats them.
  EXPECT_DOUBLE_EQ(roc_auc({{0.1, 0.2}, {}, 0, 3}), 1.0);
}

TEST(Metrics, ANonFiniteScoreIsRefusedNotRanked) {
  LabelledScores s;
  EXPECT_THROW_MSG(s.add(true, std::nan("")), UsageError, "non-finite");
  EXPECT_THROW_MSG(s.add(false, HUGE_VAL), UsageError, "non-finite");
  EXPECT_THROW_MSG(roc_auc({{std::nan("")}, {0.1}}), UsageError, "non-finite");
  EXPECT_THROW_MSG(best_threshold({{0.3}, {-HUGE_VAL}}), UsageError, "non-finite");
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
}  // namespace modeldna::metrics
