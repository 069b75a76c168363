// File: modeldna/nn/compress.h
// The compressions a derived model may have gone through.
#pragma once

#include <functional>

#include "modeldna/nn/network.h"

namespace modeldna::nn {

/// Zeroes the `fraction` smallest-magnitude entries of every weight matrix and
/// kernel (per tensor, unstructured). Returns a function that re-applies the
/// masks, for TrainOptions::after_step during the fine-tune that follows.
std::function<void()> prune_by_magnitude(Network& net, double fraction);

/// A float tensor as int8 values and one symmetric scale (max |w| / 127):
/// w ~ values * scale.
struct Int8PerTensor {
  torch::Tensor values;  // int8, same shape
  torch::Tensor scale;   // float32 scalar
};
Int8PerTensor to_int8_per_tensor(const torch::Tensor& weights);

/// Rounds every weight matrix and kernel to int8 with one symmetric scale per
/// tensor (max |w| / 127), in place: the float network then computes exactly
/// what the int8 file (SaveOptions::int8_weights) stores.
void quantize_int8_per_tensor(Network& net);

}  // namespace modeldna::nn
