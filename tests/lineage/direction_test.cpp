// The direction cues on hand-made sketches: which of two related models is
// the parent (docs/registry.md, "Direction").
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "modeldna/io/dequantize.h"
#include "modeldna/lineage/direction.h"
#include "random_sketch.h"

namespace modeldna::lineage {
namespace {

using testing::random_sketch;

// A fine-tune: every value moved by 20% noise.
compare::ModelSketch child_of(const compare::ModelSketch& parent, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.2f);
  auto c = parent;
  for (auto& t : c.tensors)
    t.edit_values([&](std::vector<float>& values) {
      for (float& v : values) v += normal(rng);
    });
  return c;
}

DirectionVote vote(const compare::ModelSketch& a, const compare::ModelSketch& b) {
  const auto c = compare::compare_sketches(a, b, 0.01);
  EXPECT_TRUE(c.derived);
  return direction(a, b, c);
}

TEST(Direction, AQuantizedModelIsTheChild) {
  const auto parent = random_sketch(1);
  auto child = child_of(parent, 2);
  for (auto& t : child.tensors) t.lossy = true;
  EXPECT_EQ(vote(parent, child).score, 1);
  EXPECT_EQ(vote(child, parent).score, -1);
}

// Each value through float16 (or bfloat16) and back, as a re-encoding
// stores it; the sketch's mantissa_bits as sketch_store would count them.
compare::ModelSketch rounded(compare::ModelSketch s, bool bfloat) {
  for (auto& t : s.tensors) {
    t.edit_values([&](std::vector<float>& values) {
      for (float& v : values) v = bfloat ? io::bf16_to_f32(io::f32_to_bf16(v)) : io::f16_to_f32(io::f32_to_f16(v));
    });
    t.mantissa_bits = compare::mantissa_bits(t.values());
  }
  return s;
}

TEST(Direction, MantissaBitsCountTheSignificantBitsAValueCarries) {
  EXPECT_EQ(compare::mantissa_bits({1.0f}), 1);
  EXPECT_EQ(compare::mantissa_bits({1.5f, -0.75f}), 2);
  EXPECT_EQ(compare::mantissa_bits({0.0f, 1.0f + 0x1p-23f}), 24);
  EXPECT_EQ(compare::mantissa_bits({0.0f}), 0);
  // Every finite float16 value carries at most 11; every bfloat16 at most 8.
  int f16_most = 0, bf16_most = 0;
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    const float h = io::f16_to_f32(static_cast<uint16_t>(bits)), b = io::bf16_to_f32(static_cast<uint16_t>(bits));
    if (std::isfinite(h)) f16_most = std::max(f16_most, compare::mantissa_bits({h}));
    if (std::isfinite(b)) bf16_most = std::max(bf16_most, compare::mantissa_bits({b}));
  }
  EXPECT_EQ(f16_most, 11);
  EXPECT_EQ(bf16_most, 8);
}

// A float16 copy of a float32 model is its child (issue 27: the tree made a
// copy the parent of its original); so is a bfloat16 one. A float32 upcast
// of a bfloat16 model carries bfloat16's bits, so precision claims nothing,
// and neither does a float32 fine-tune of a float16 model (its layers
// changed: training gains bits).
TEST(Direction, AFloat16CopyIsTheChildAndAnUpcastClaimsNothing) {
  const auto original = random_sketch(12);
  for (bool bfloat : {false, true}) {
    const auto copy = rounded(original, bfloat);
    EXPECT_EQ(vote(original, copy).score, 1) << vote(original, copy).reason;
    EXPECT_EQ(vote(copy, original).score, -1);
    EXPECT_NE(vote(original, copy).reason.find("fewer bits per value"), std::string::npos);
  }
  const auto bf16_model = rounded(random_sketch(13), true);
  const auto upcast = bf16_model;  // the same values, stored as float32
  EXPECT_EQ(vote(bf16_model, upcast).reason.find("bits"), std::string::npos) << vote(bf16_model, upcast).reason;
  const auto f16_model = rounded(random_sketch(14), false);
  auto f32_finetune = child_of(f16_model, 15);
  for (auto& t : f32_finetune.tensors) t.mantissa_bits = compare::mantissa_bits(t.values());
  EXPECT_EQ(vote(f16_model, f32_finetune).reason.find("bits"), std::string::npos) << vote(f16_model, f32_finetune).reason;
}

TEST(Direction, ThePrunedModelIsTheChildAndTwoAlikePrunedAreSiblings) {
  const auto parent = random_sketch(3);
  auto pruned = child_of(parent, 4);
  for (auto& t : pruned.tensors) t.zero_fraction = 0.3;
  EXPECT_EQ(vote(parent, pruned).score, 1);
  EXPECT_EQ(vote(pruned, parent).score, -1);
  auto other = child_of(parent, 5);
  for (auto& t : other.tensors) t.zero_fraction = 0.31;
  const auto v = vote(pruned, other);
  EXPECT_TRUE(v.siblings);
  EXPECT_EQ(v.score, 0);
}

TEST(Direction, KurtosisIsAWeakVoteWithTheSignMeasuredOnOurZoos) {
  const auto parent = random_sketch(6);
  auto child = child_of(parent, 7);
  for (auto& t : child.tensors) t.kurtosis = 3.3;  // log(1.1) = 0.095 above: 0.5 x tanh(0.095 / 0.02)
  EXPECT_NEAR(vote(parent, child).score, 0.5 * std::tanh(std::log(1.1) / 0.02), 1e-9);
  EXPECT_NEAR(vote(child, parent).score, -0.5 * std::tanh(std::log(1.1) / 0.02), 1e-9);
  for (auto& t : child.tensors) t.kurtosis = 3.01;  // log ratio 0.0033: noise
  EXPECT_EQ(vote(parent, child).score, 0);
}

// A partial fine-tune (some layers unchanged, the head retrained) gets no
// kurtosis vote, whichever way its changed layers' kurtosis moved: on the tiny
// text zoo the vote made a source the child of its head-only fine-tune.
TEST(Direction, APartialFineTuneGetsNoKurtosisVote) {
  const auto parent = random_sketch(8);
  auto partial = parent;
  const auto retrained = child_of(parent, 9);
  partial.tensors.back() = retrained.tensors.back();
  partial.tensors.back().kurtosis = 3.3;
  const auto v = vote(parent, partial);
  EXPECT_EQ(v.score, 0);
  EXPECT_NE(v.reason.find("partial fine-tune"), std::string::npos);
  EXPECT_EQ(vote(partial, parent).score, 0);
}

}  // namespace
}  // namespace modeldna::lineage
