// fuse(): the verdict is the decision on the p-value it prints. Each case
// sets the two families' p-values by hand; the expected printed p-value is
// Bonferroni over the two, computed here independently (2 * min p).
#include <gtest/gtest.h>

#include <cmath>

#include "modeldna/compare/compare.h"

namespace modeldna::compare {
namespace {

// A white-box result whose calibrated p-value is `white_p`, with the verdict
// compare_weights gives it at `alpha` (k tested layers, p already combined).
CompareResult weights_result(double white_p, double alpha = 0.01, int64_t tested_layers = 5) {
  CompareResult r;
  r.tested_layers = tested_layers;
  r.log10_p_white_box = r.log10_p = std::log10(white_p);
  if (tested_layers == 0) {
    r.verdict = Verdict::Inconclusive;
    r.decided_by = DecidedBy::None;
  } else {
    r.verdict = white_p < alpha ? Verdict::Derived : Verdict::Independent;
    r.decided_by = DecidedBy::WhiteBox;
    r.relation = white_p < alpha ? Relation::FineTuned : Relation::None;
  }
  return r;
}

BlackBoxEvidence behaviour(double p) {
  BlackBoxEvidence b;
  b.available = true;
  b.score = 0.9;
  b.log10_p = std::log10(p);
  b.calibration = "test panel";
  return b;
}

CompareResult fused(double white_p, double black_p, double alpha = 0.01, int64_t tested_layers = 5) {
  auto r = weights_result(white_p, alpha, tested_layers);
  CompareOptions o;
  o.alpha = alpha;
  fuse(r, behaviour(black_p), o);
  return r;
}

TEST(Fuse, TheVerdictIsTheDecisionOnThePrintedPValue) {
  // The case of issue 27: white 0.03, black 0.006 prints 0.012 > 0.01.
  const auto r = fused(0.03, 0.006);
  EXPECT_NEAR(r.p_value(), 0.012, 1e-12);
  EXPECT_EQ(r.verdict, Verdict::Independent);
  EXPECT_EQ(r.relation, Relation::None);
  // The same holds on a grid of both p-values and three levels.
  for (double alpha : {0.001, 0.01, 0.05})
    for (double w : {1e-9, 1e-4, 0.002, 0.004, 0.006, 0.02, 0.3, 1.0})
      for (double b : {1e-9, 1e-4, 0.002, 0.004, 0.006, 0.02, 0.3, 1.0}) {
        SCOPED_TRACE(std::to_string(alpha) + " " + std::to_string(w) + " " + std::to_string(b));
        const auto f = fused(w, b, alpha);
        const double printed = std::min(1.0, 2 * std::min(w, b));
        EXPECT_NEAR(f.p_value(), printed, 1e-9 * printed);
        EXPECT_EQ(f.verdict == Verdict::Derived, printed < alpha);
        EXPECT_EQ(f.verdict, printed < alpha ? Verdict::Derived : Verdict::Independent);
      }
}

TEST(Fuse, SaysWhichFamilyDecided) {
  EXPECT_EQ(fused(1e-6, 0.5).decided_by, DecidedBy::WhiteBox);
  EXPECT_EQ(fused(1e-6, 1e-6).decided_by, DecidedBy::WhiteAndBlackBox);
  const auto distilled = fused(0.5, 1e-4);
  EXPECT_EQ(distilled.verdict, Verdict::Derived);
  EXPECT_EQ(distilled.decided_by, DecidedBy::BlackBox);
  EXPECT_EQ(distilled.relation, Relation::Distilled);
  // A weight-derived model keeps its relation when behaviour agrees.
  EXPECT_EQ(fused(1e-6, 1e-6).relation, Relation::FineTuned);
}

TEST(Fuse, BehaviourAloneDecidesWhenNoLayerWasTested) {
  const auto r = fused(1.0, 0.004, 0.01, /*tested_layers=*/0);
  EXPECT_NEAR(r.p_value(), 0.004, 1e-12);  // one family: no correction
  EXPECT_EQ(r.verdict, Verdict::Derived);
  EXPECT_EQ(r.decided_by, DecidedBy::BlackBox);
  EXPECT_EQ(fused(1.0, 0.02, 0.01, 0).verdict, Verdict::Independent);
}

TEST(Fuse, WithoutACalibratedPValueTheWeightsDecide) {
  for (double white_p : {1e-6, 0.5}) {
    auto r = weights_result(white_p);
    const auto before = r.verdict;
    BlackBoxEvidence b;
    b.available = true;
    b.score = 0.99;  // very similar behaviour, but no panel
    fuse(r, b, {});
    EXPECT_EQ(r.verdict, before);
    EXPECT_DOUBLE_EQ(r.log10_p, std::log10(white_p));
    EXPECT_FALSE(r.notes.empty());
  }
  auto r = weights_result(0.5);
  BlackBoxEvidence missing;
  missing.reason = "cannot run";
  fuse(r, missing, {});
  EXPECT_EQ(r.verdict, Verdict::Independent);
}

TEST(Fuse, AnIdenticalFileStaysDerived) {
  auto r = weights_result(1e-300);
  r.identical_files = true;
  r.decided_by = DecidedBy::Identity;
  fuse(r, behaviour(0.9), {});
  EXPECT_EQ(r.verdict, Verdict::Derived);
  EXPECT_EQ(r.decided_by, DecidedBy::Identity);
}

TEST(Fuse, DecidedByNamesAreTheDocumentedOnes) {
  EXPECT_EQ(decided_by_name(DecidedBy::WhiteBox), "white-box");
  EXPECT_EQ(decided_by_name(DecidedBy::BlackBox), "black-box");
  EXPECT_EQ(decided_by_name(DecidedBy::WhiteAndBlackBox), "white-box and black-box");
  EXPECT_EQ(decided_by_name(DecidedBy::Identity), "identity");
  EXPECT_EQ(decided_by_name(DecidedBy::None), "none");
}

}  // namespace
}  // namespace modeldna::compare

namespace modeldna::compare {
namespace {

TEST(PValueText, FourDigitsThenPowersOfTen) {
  EXPECT_EQ(p_value_text(std::log10(0.012)), "0.012");
  EXPECT_EQ(p_value_text(0), "1");
  EXPECT_EQ(p_value_text(std::log10(2.5e-4)), "0.00025");
  EXPECT_EQ(p_value_text(-300), "1e-300.0");
  EXPECT_EQ(p_value_text(-1234.56), "1e-1234.6");  // below what a double holds
}

}  // namespace
}  // namespace modeldna::compare
