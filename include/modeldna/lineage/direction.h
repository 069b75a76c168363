// File: modeldna/lineage/direction.h
// Which of two related models is the parent (docs/registry.md,
// "Direction"). A derivation only goes one way for some transformations:
// quantization and pruning lose information, so a quantized or pruned model
// is the child of a float, dense one. Fine-tuning leaves a softer trace:
// it raised the kurtosis of the changed layers of text-cnn and ResNet-18
// fine-tunes and lowered it for most text-transformer ones (a previous
// session's count, BENCHMARKS.md), so kurtosis is only a weak vote, with the
// sign that held for most architectures. Torch-free.
#pragma once

#include <string>

#include "modeldna/compare/sketch.h"

namespace modeldna::lineage {

struct DirectionVote {
  /// > 0: `a` is the parent of `b`; < 0: the reverse; 0: no evidence.
  /// +-1 for the lossy rules (quantization, fewer bits per value, pruning),
  /// at most +-0.5 for kurtosis.
  double score = 0;
  std::string reason;
  /// Neither is the other's parent: two models pruned to the same sparsity
  /// share the positions of their zeros, which makes them look closer to
  /// each other than to the dense model each came from.
  bool siblings = false;
};

/// The vote for "a is the parent of b", from their sketches and
/// compare_sketches(a, b).
DirectionVote direction(const compare::ModelSketch& a, const compare::ModelSketch& b, const compare::SketchComparison& a_to_b);

}  // namespace modeldna::lineage
