// Private to compare: the relation guessed from the layer map.
#pragma once

#include "modeldna/compare/compare.h"

namespace modeldna::compare::detail {

/// A derived layer whose sampled values moved by at most this fraction of
/// their norm counts as unchanged ("from source"): int8 and float16 copies
/// stay below it, fine-tunes move well past it (docs/compare.md).
inline constexpr double kUnchangedRelativeDifference = 0.03;
/// What float16 or bfloat16 rounding leaves: a conversion, not a change.
inline constexpr double kRoundingRelativeDifference = 0.002;

Relation guess_relation(const CompareResult& result, const io::TensorStore& source, const io::TensorStore& target);

}  // namespace modeldna::compare::detail
