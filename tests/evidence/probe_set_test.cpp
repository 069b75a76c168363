#include "modeldna/evidence/probe_set.h"

#include "evidence_fixtures.h"
#include "modeldna/core/error.h"
#include "modeldna/nn/train.h"
#include "test_support.h"

namespace modeldna::evidence {
namespace {

using testing::random_images;

TEST(ProbeSet, HasTheRequestedShapes) {
  const auto data = random_images(50, 1);
  const auto probes = make_probe_set(data, 20, 3);
  EXPECT_EQ(probes.size(), 20);
  for (const auto& t : {probes.clean, probes.noisy, probes.cutmix})
    EXPECT_EQ(t.sizes(), (std::vector<int64_t>{20, 1, 28, 28}));
  EXPECT_EQ(probes.labels.sizes(), (std::vector<int64_t>{20}));
  EXPECT_EQ(probes.labels.scalar_type(), torch::kInt64);
  EXPECT_EQ(probes.all_inputs().sizes(), (std::vector<int64_t>{60, 1, 28, 28}));
  EXPECT_TRUE(probes.all_inputs().slice(0, 20, 40).equal(probes.noisy));
}

TEST(ProbeSet, SameSeedSameProbes) {
  const auto data = random_images(50, 1);
  const auto a = make_probe_set(data, 16, 9), b = make_probe_set(data, 16, 9), c = make_probe_set(data, 16, 10);
  EXPECT_TRUE(a.clean.equal(b.clean));
  EXPECT_TRUE(a.noisy.equal(b.noisy));
  EXPECT_TRUE(a.cutmix.equal(b.cutmix));
  EXPECT_TRUE(a.labels.equal(b.labels));
  EXPECT_FALSE(a.clean.equal(c.clean));
}

TEST(ProbeSet, CleanProbesAreDatasetRowsWithTheirLabels) {
  const auto data = random_images(30, 2);
  const auto probes = make_probe_set(data, 30, 4);
  // All 30 drawn: every dataset row appears once, labels travel with it.
  for (int64_t i = 0; i < 30; ++i) {
    int64_t found = -1;
    for (int64_t j = 0; j < 30 && found < 0; ++j)
      if (probes.clean[i].equal(data.inputs[j])) found = j;
    ASSERT_GE(found, 0);
    EXPECT_EQ(probes.labels[i].item<int64_t>(), data.labels[found].item<int64_t>());
  }
}

TEST(ProbeSet, NoisyIsCleanPlusSmallNoiseInRange) {
  const auto probes = make_probe_set(random_images(40, 3), 40, 5);
  EXPECT_LE(probes.noisy.max().item<float>(), 1.0f);
  EXPECT_GE(probes.noisy.min().item<float>(), -1.0f);
  const double spread = (probes.noisy - probes.clean).std().item<double>();
  EXPECT_GT(spread, 0.05);  // N(0, 0.1^2), a little less after clamping
  EXPECT_LT(spread, 0.11);
}

TEST(ProbeSet, CutmixPastesARectangleFromAnotherProbe) {
  const auto probes = make_probe_set(random_images(40, 4), 40, 6);
  int64_t mixed = 0;
  for (int64_t i = 0; i < 40; ++i) {
    const auto changed = probes.cutmix[i].ne(probes.clean[i]);
    const double fraction = changed.to(torch::kFloat64).mean().item<double>();
    if (fraction == 0) continue;  // paired with itself
    ++mixed;
    EXPECT_GE(fraction, 0.25);
    EXPECT_LE(fraction, 0.75);
    // The changed pixels form one rectangle: its bounding box is all changed.
    const auto where = changed[0].nonzero();
    const auto lo = std::get<0>(where.min(0)), hi = std::get<0>(where.max(0));
    const int64_t h = hi[0].item<int64_t>() - lo[0].item<int64_t>() + 1;
    const int64_t w = hi[1].item<int64_t>() - lo[1].item<int64_t>() + 1;
    EXPECT_EQ(h * w, changed.sum().item<int64_t>());
  }
  EXPECT_GT(mixed, 30);
}

TEST(ProbeSet, LeavesTheGlobalGeneratorAlone) {
  const auto data = random_images(20, 5);
  torch::manual_seed(42);
  const auto expected = torch::rand({4});
  torch::manual_seed(42);
  make_probe_set(data, 10, 1);
  EXPECT_TRUE(torch::rand({4}).equal(expected));
}

TEST(ProbeSet, RejectsTooManyProbes) {
  EXPECT_THROW_MSG(make_probe_set(random_images(5, 6), 6, 1), UsageError, "asked for 6 probes");
  EXPECT_THROW_MSG(make_probe_set(random_images(5, 6), 0, 1), UsageError, "at least one probe");
}

TEST(ProbeSet, ObserveRunsEveryProbe) {
  const auto probes = make_probe_set(random_images(12, 7), 12, 1);
  const auto out = observe("m", testing::fresh(testing::tiny_mlp(7), 1), probes);
  EXPECT_EQ(out.id, "m");
  EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{36, 7}));
  EXPECT_TRUE(out.cutmix(12).equal(nn::predict_logits(*out.network, probes.cutmix)));
}

}  // namespace
}  // namespace modeldna::evidence
