// The direction cues on hand-made sketches: which of two related models is
// the parent (docs/registry.md, "Direction").
#include <gtest/gtest.h>

#include <cmath>
#include <random>

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
    for (float& v : t.values) v += normal(rng);
  compare::prepare(c);
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
  compare::prepare(partial);
  const auto v = vote(parent, partial);
  EXPECT_EQ(v.score, 0);
  EXPECT_NE(v.reason.find("partial fine-tune"), std::string::npos);
  EXPECT_EQ(vote(partial, parent).score, 0);
}

}  // namespace
}  // namespace modeldna::lineage
