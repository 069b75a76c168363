// Private to compare: how much change a target tensor's own encoding
// explains. A quantized copy differs from its source by its rounding, which
// depends on the encoding (Q8_0 about 0.5% of the norm, Q4_K about 7%): a
// fixed bound calls every Q4_K copy modified. The rounding is measured on the
// target's stored values, so it needs no quantizer (docs/compare.md, section 5).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "modeldna/io/tensor_store.h"

namespace modeldna::compare::detail {

/// A layer whose change is within this many times what its encoding explains
/// is unchanged apart from the encoding. Chosen before any measurement: the
/// rounding noise is estimated from each block's range, which understates the
/// step of a block that does not span every level, and K-quants optimise their
/// scales rather than rounding to a fixed grid; twice the estimate leaves room
/// for both, and a fine-tune moves weights by far more.
inline constexpr double kEncodingErrorMultiple = 2.0;

/// The relative error (||x_stored - x|| / ||x||) that rounding to the
/// tensor's encoding explains, estimated on the given stored rows (indices
/// into its outermost dimension; a row is everything inside it):
/// for ggml blocks, uniform rounding noise (step^2 / 12) at each sub-block's
/// step (its largest magnitude over the positive levels for symmetric types,
/// its range over the levels for the others); for affine integer codes, at
/// the scale. nullopt for float storage and tensors of rank below 2.
std::optional<double> encoding_relative_error(const io::TensorStore& store, const io::TensorInfo& tensor,
                                              const std::vector<int64_t>& rows);

}  // namespace modeldna::compare::detail
