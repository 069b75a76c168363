// File: modeldna/compare/unit_rows.h
// A weight as rows of hidden units, whatever file it came from: the layout
// undone (OHWI, HWIO, [in, out] ... to [out, in x kernel]), quantized values
// dequantized, and the unit axis chosen so that rows are what independent
// training leaves exchangeable (output units; for an embedding table the
// hidden dimensions, since its rows are tokens). Only the sampled rows and
// columns are read. Torch-free.
#pragma once

#include <cstdint>
#include <vector>

#include "modeldna/io/tensor_store.h"

namespace modeldna::compare {

struct UnitShape {
  int64_t units = 0;             // rows
  int64_t inputs = 0;            // columns: everything else, flattened
  std::vector<int64_t> dims;     // canonical dims: units first
  std::vector<int> stored_axis;  // canonical dim k is stored axis stored_axis[k]
  /// An output head seen over its inputs: its units are the previous layer's
  /// hidden units, its "inputs" the model's outputs (docs/compare.md).
  bool output_head = false;
  /// Canonical unit k is stored unit stored_unit[k] (llama.cpp's rotary row
  /// order of Q and K, undone); empty when they are the same.
  std::vector<int64_t> stored_unit;
  /// Canonical input k is stored input stored_input[k] along the stored axis
  /// of dims[1] (a token table's rows, aligned by token string; rank 2
  /// only); empty when they are the same.
  std::vector<int64_t> stored_input;
};

/// The canonical unit view of a tensor of rank >= 1 (a vector is `units`
/// rows of one input each).
UnitShape unit_shape(const io::TensorInfo& tensor);

/// Values at (units[i], inputs[j]) of the canonical view, row-major
/// units.size() x inputs.size(). Rows stored contiguously are read row by
/// row; other layouts in one bounded streaming pass over the tensor.
std::vector<float> read_units(const io::TensorStore& store, const io::TensorInfo& tensor, const UnitShape& shape,
                              const std::vector<int64_t>& units, const std::vector<int64_t>& inputs);

/// `count` distinct indices in [0, n), sorted, drawn by `seed` (all of them
/// when count >= n). The same seed gives the same sample in both models.
std::vector<int64_t> sample_indices(int64_t n, int64_t count, uint64_t seed);

}  // namespace modeldna::compare
