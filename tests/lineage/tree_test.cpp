// The forest on hand-made sketches: siblings that drift alike stay siblings,
// a real chain stays a chain (docs/registry.md, "Siblings that drift alike").
#include <gtest/gtest.h>

#include <random>

#include "modeldna/lineage/tree.h"
#include "random_sketch.h"

namespace modeldna::lineage {
namespace {

using testing::random_sketch;

using Sketch = compare::ModelSketch;

// `base` moved by `scale` x a direction drawn from `seed`: the same seed
// gives the same direction, so several children can share one drift.
Sketch moved(const Sketch& base, uint64_t seed, float scale) {
  const auto direction = random_sketch(seed, 6);
  auto out = base;
  for (std::size_t t = 0; t < out.tensors.size(); ++t)
    for (std::size_t i = 0; i < out.tensors[t].values.size(); ++i)
      out.tensors[t].values[i] += scale * direction.tensors[t].values[i];
  compare::prepare(out);
  return out;
}

std::vector<std::size_t> parents(const Tree& tree, std::size_t n) {
  std::vector<std::size_t> out(n, n);  // n: a root
  for (const auto& e : tree.edges) out[e.child] = e.parent;
  return out;
}

// A source fine-tuned four ways on related tasks, each child = source +
// common drift (0.5) + its own change (0.3), and twice on unrelated ones
// (0.45 each). The four are closer to one another than to the source (2 x
// 0.09 against 0.25 + 0.09 in squared distance), so closeness alone chains
// them; the chain is not additive. (The other two make the source the
// middle of the family: with the four alone it is the far end of one
// branch, and no distance can tell it from a sibling.)
TEST(Tree, SiblingsThatDriftAlikeStaySiblings) {
  const auto source = random_sketch(1, 6);
  const auto drifted = moved(source, 100, 0.5f);
  std::vector<Sketch> models = {source};
  for (uint64_t k = 0; k < 4; ++k) models.push_back(moved(drifted, 200 + k, 0.3f));
  for (uint64_t k = 0; k < 2; ++k) models.push_back(moved(source, 250 + k, 0.45f));
  std::vector<const Sketch*> in;
  for (const auto& m : models) in.push_back(&m);
  const std::size_t n = models.size();

  const auto tree = build_tree(in);
  EXPECT_EQ(tree.roots, std::vector<std::size_t>{0});
  std::vector<std::size_t> expected(n, 0);
  expected[0] = n;
  EXPECT_EQ(parents(tree, n), expected);

  TreeOptions no_repair;
  no_repair.chain_excess = 1.0;  // every chain accepted: what the arborescence alone gives
  const auto chained = parents(build_tree(in, no_repair), n);
  int under_source = 0;
  for (std::size_t k = 1; k <= 4; ++k) under_source += chained[k] == 0;
  EXPECT_LT(under_source, 4) << "the test needs siblings that closeness alone chains";
}

// A source with three children, one of which has a child of its own, each
// step an independent change: the distances add up and the chain stays.
TEST(Tree, AnAdditiveChainStaysAChain) {
  const auto source = random_sketch(2, 6);
  const auto child = moved(source, 300, 0.4f);
  const auto grandchild = moved(child, 301, 0.4f);
  const auto sibling = moved(source, 302, 0.4f);
  const auto other = moved(source, 303, 0.4f);
  const std::vector<const Sketch*> in = {&source, &child, &grandchild, &sibling, &other};
  const auto tree = build_tree(in);
  EXPECT_EQ(parents(tree, in.size()), (std::vector<std::size_t>{5, 0, 1, 0, 0}));
}

}  // namespace
}  // namespace modeldna::lineage
