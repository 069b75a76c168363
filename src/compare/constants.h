// Private to compare: telling fixed, non-learned tensors from learned ones
// by their values (docs/compare.md, "Constants are not evidence"). Two
// independently trained models can share an STFT basis, a position table or
// anchor boxes; a verdict resting on them would be a false positive.
#pragma once

#include <optional>
#include <string>

#include "modeldna/compare/compare.h"
#include "modeldna/compare/unit_rows.h"

namespace modeldna::compare::detail {

/// Why `tensor` looks like a constant rather than learned weights, or nullopt.
/// Criteria (any one suffices): at most 16 distinct values among 4,096 samples;
/// rows that are sinusoids (80% of each sampled row's energy in two Fourier
/// bins, rows of 32 or more inputs); a name that says basis / window /
/// frequency table together with either of the weaker signs.
std::optional<std::string> looks_constant(const io::TensorStore& store, const io::TensorInfo& tensor,
                                          const UnitShape& shape, uint64_t seed);

}  // namespace modeldna::compare::detail
