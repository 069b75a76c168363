#include "modeldna/evidence/probe_set.h"

#include "evidence_fixtures.h"
#include "modeldna/core/error.h"
#include "modeldna/core/json_file.h"
#include "modeldna/evidence/behaviour.h"
#include "modeldna/registry/fingerprint.h"
#include "network_helpers.h"
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

// Token ids: [CLS], pieces >= 5, then padding (0) from a per-row length on.
data::Dataset random_texts(int64_t n, int64_t seq_len, uint64_t seed) {
  torch::manual_seed(seed);
  auto ids = torch::randint(5, 100, {n, seq_len}, torch::kInt64);
  ids.select(1, 0).fill_(2);
  const auto lengths = torch::randint(seq_len / 2, seq_len + 1, {n, 1}, torch::kInt64);
  ids.masked_fill_(torch::arange(seq_len, torch::kInt64).unsqueeze(0).ge(lengths), 0);
  return {"texts", ids, torch::randint(10, {n}, torch::kInt64), 10};
}

TEST(TextProbeSet, NoiseSwapsAboutFifteenPercentOfRealTokens) {
  const auto data = random_texts(400, 40, 1);
  const auto probes = make_probe_set(data, 400, 2);
  EXPECT_EQ(probes.noisy.sizes(), probes.clean.sizes());
  EXPECT_EQ(probes.noisy.scalar_type(), torch::kInt64);
  // [CLS] and padding never change; the swapped-in tokens are real pieces.
  EXPECT_TRUE(probes.noisy.select(1, 0).eq(2).all().item<bool>());
  EXPECT_TRUE(probes.noisy.eq(0).equal(probes.clean.eq(0)));
  EXPECT_TRUE(probes.noisy.masked_select(probes.clean.ne(0)).ge(2).all().item<bool>());
  const auto real = probes.clean.ne(0);
  real.select(1, 0).fill_(false);
  const double changed = probes.noisy.ne(probes.clean).sum().item<double>() / real.sum().item<double>();
  // 15% chosen, minus the draws that happen to pick the same token.
  EXPECT_GT(changed, 0.12);
  EXPECT_LT(changed, 0.16);
}

TEST(TextProbeSet, CutmixSplicesTwoProbes) {
  const auto data = random_texts(50, 30, 3);
  const auto probes = make_probe_set(data, 50, 4);
  int64_t spliced = 0;
  for (int64_t i = 0; i < 50; ++i) {
    const auto row = probes.cutmix[i];
    // A head of probe i, then the tail of some other probe j from the cut on.
    int64_t cut = 0;
    while (cut < 30 && row[cut].item<int64_t>() == probes.clean[i][cut].item<int64_t>()) ++cut;
    EXPECT_GE(cut, 9) << "row " << i;  // at least 30% of the sequence kept
    if (cut == 30) continue;           // partner's tail happened to match (or partner is itself)
    bool found = false;
    for (int64_t j = 0; j < 50 && !found; ++j)
      found = row.slice(0, cut).equal(probes.clean[j].slice(0, cut));
    EXPECT_TRUE(found) << "row " << i;
    ++spliced;
  }
  EXPECT_GT(spliced, 40);
}

TEST(TextProbeSet, SameSeedSameProbes) {
  const auto data = random_texts(60, 20, 5);
  const auto a = make_probe_set(data, 30, 6), b = make_probe_set(data, 30, 6);
  EXPECT_TRUE(a.noisy.equal(b.noisy));
  EXPECT_TRUE(a.cutmix.equal(b.cutmix));
}

// input_kind is a key stored in fingerprints: a registry built by an earlier
// modeldna must still find candidates for today's queries.
TEST(InputKind, IsTheSpellingCommittedFingerprintsHold) {
  const std::string path = std::string(MODELDNA_SOURCE_DIR) + "/tests/registry/fixtures/lenet-s0.fingerprint";
  const auto fp = registry::decode(read_file(path), path);
  ASSERT_TRUE(fp.outputs.has_value());
  EXPECT_EQ(input_kind(::modeldna::testing::arch_config("lenet")), fp.outputs->input_kind);
  auto text = ::modeldna::testing::arch_config("text-cnn", 0.25);
  text.input = nn::InputSpec::text(4000, 64);
  EXPECT_EQ(input_kind(text), "token ids, vocabulary 4000, length 64");
}

}  // namespace
}  // namespace modeldna::evidence
