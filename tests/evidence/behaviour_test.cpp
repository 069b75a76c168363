// The black-box p-value: Student's t upper tail against closed forms and
// table quantiles, and behavioural_evidence's panel calibration recomputed
// here from the public statistic.
#include "modeldna/evidence/behaviour.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

namespace modeldna::evidence {
namespace {

double tail(double t, double df) { return std::pow(10.0, log10_student_upper_tail(t, df)); }

// Closed forms: df = 1 is the Cauchy distribution, P(T >= t) = atan(1/t)/pi
// for t > 0; df = 2 has P(T >= t) = (1 - t / sqrt(t^2 + 2)) / 2.
double cauchy_tail(double t) { return t > 0 ? std::atan(1 / t) / M_PI : 0.5 - std::atan(t) / M_PI; }
double df2_tail(double t) { return 0.5 * (1 - t / std::sqrt(t * t + 2)); }

TEST(StudentTail, MatchesClosedForms) {
  for (double t : {0.01, 0.3, 1.0, 2.5, 10.0, 1e3, 1e6}) {
    SCOPED_TRACE(t);
    EXPECT_NEAR(tail(t, 1), cauchy_tail(t), 1e-9 * cauchy_tail(t));
    EXPECT_NEAR(tail(t, 2), df2_tail(t), 1e-9 * df2_tail(t) + 1e-15);
    EXPECT_NEAR(tail(-t, 1), cauchy_tail(-t), 1e-9);
    EXPECT_NEAR(tail(-t, 2), 1 - df2_tail(t), 1e-9);
  }
}

TEST(StudentTail, MatchesTableQuantiles) {
  // Two-sided tables: t_{0.975, 10} = 2.228139, t_{0.99, 30} = 2.457262,
  // t_{0.995, 4} = 4.604095, t_{0.95, 100} = 1.660234.
  EXPECT_NEAR(tail(2.228139, 10), 0.025, 1e-6);
  EXPECT_NEAR(tail(2.457262, 30), 0.01, 1e-6);
  EXPECT_NEAR(tail(4.604095, 4), 0.005, 1e-6);
  EXPECT_NEAR(tail(1.660234, 100), 0.05, 1e-6);
}

TEST(StudentTail, IsOneHalfAtZeroWithEitherSign) {
  // t = 0 used to recurse forever: -0.0 is still <= 0.
  for (double df : {1.0, 2.0, 4.0, 29.0}) {
    EXPECT_DOUBLE_EQ(tail(0.0, df), 0.5);
    EXPECT_DOUBLE_EQ(tail(-0.0, df), 0.5);
  }
}

ProbeSet probes(int64_t n) {
  ProbeSet p;
  p.clean = p.noisy = p.cutmix = torch::zeros({n, 1});
  p.labels = torch::zeros({n}, torch::kInt64);
  return p;
}

ModelOutputs outputs(const std::string& id, const torch::Tensor& logits) {
  ModelOutputs o;
  o.id = id;
  o.logits = logits;
  return o;
}

TEST(BehaviouralEvidence, APanelEqualToTheTargetGivesOneHalf) {
  // The score equals the panel's mean exactly: t = 0.
  torch::manual_seed(3);
  const int64_t n = 40;
  const auto set = probes(n);
  const auto source = outputs("source", torch::randn({3 * n, 10}));
  const auto target = outputs("target", torch::randn({3 * n, 10}));
  std::vector<ModelOutputs> panel = {target, target, target};
  const auto e = behavioural_evidence(set, source, target, {&panel[0], &panel[1], &panel[2]});
  ASSERT_TRUE(e.log10_p.has_value());
  EXPECT_DOUBLE_EQ(std::pow(10.0, *e.log10_p), 0.5);
}

TEST(BehaviouralEvidence, PValueIsTheTPredictionIntervalOverThePanel) {
  torch::manual_seed(4);
  const int64_t n = 40;
  const auto set = probes(n);
  const auto base = torch::randn({3 * n, 10});
  const auto source = outputs("source", base);
  const auto target = outputs("target", base + 0.3 * torch::randn({3 * n, 10}));  // close to the source
  std::vector<ModelOutputs> refs;
  for (int i = 0; i < 3; ++i) refs.push_back(outputs("ref", torch::randn({3 * n, 10})));
  const auto e = behavioural_evidence(set, source, target, {&refs[0], &refs[1], &refs[2]});
  ASSERT_TRUE(e.available);
  ASSERT_TRUE(e.log10_p.has_value());
  // Recomputed: t = (score - mean) / (sd * sqrt(1 + 1/r)), df = r - 1 = 2.
  const double score = behavioural_similarity(set, source, target);
  EXPECT_DOUBLE_EQ(e.score, score);
  std::vector<double> panel;
  for (const auto& r : refs) panel.push_back(behavioural_similarity(set, source, r));
  const double mean = (panel[0] + panel[1] + panel[2]) / 3;
  double var = 0;
  for (double v : panel) var += (v - mean) * (v - mean);
  var /= 2;
  const double t = (score - mean) / std::sqrt(var * (1 + 1.0 / 3));
  ASSERT_GT(t, 0);
  EXPECT_NEAR(std::pow(10.0, *e.log10_p), df2_tail(t), 1e-9);
}

TEST(BehaviouralEvidence, FewerThanThreeReferencesGiveNoPValue) {
  torch::manual_seed(5);
  const int64_t n = 20;
  const auto set = probes(n);
  const auto a = outputs("a", torch::randn({3 * n, 10})), b = outputs("b", torch::randn({3 * n, 10}));
  const auto e = behavioural_evidence(set, a, b, {&a, &b});
  EXPECT_TRUE(e.available);
  EXPECT_FALSE(e.log10_p.has_value());
  EXPECT_NE(e.calibration.find("none"), std::string::npos);
  // And a model that cannot run gives no evidence, with the reason.
  const auto missing = behavioural_evidence(set, a, ModelOutputs{}, {});
  EXPECT_FALSE(missing.available);
  EXPECT_FALSE(missing.reason.empty());
}

}  // namespace
}  // namespace modeldna::evidence
