// Private to compare: where each tensor sits in its model's structure, so
// that tensors are paired by position and never by the order a file happens
// to store them in (docs/compare.md, section 3).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "modeldna/io/tensor_store.h"

namespace modeldna::compare::detail {

/// A tensor's place in its model; smaller comes first.
struct StructuralPosition {
  /// Graph formats: weight-reading operators on the longest path from the
  /// graph's inputs to the first operator that reads this tensor (that one
  /// included). Elementwise operators do not count, so a converter that
  /// fuses or splits them leaves it unchanged. 0 without a graph.
  int64_t depth = 0;
  int64_t node = 0;      // that operator's index in the file's graph (ties)
  std::string name_key;  // safetensors: the name with digit runs compared as numbers
  int64_t stored = 0;    // the store's order (last resort)

  bool operator<(const StructuralPosition& other) const;
};

/// Every tensor's position, by name. Graph formats (ONNX, TFLite, TF.js,
/// Keras) by depth, then operator; safetensors, which its writers store
/// sorted by name (layers.10 before layers.2), by name with numbers compared
/// as numbers; PyTorch checkpoints and GGUF by store order, which their
/// writers keep structural (module order, llama.cpp's blk.0, blk.1, ...).
std::map<std::string, StructuralPosition> structural_positions(const io::TensorStore& store);

/// `name` with every run of digits zero-padded to 20 places, so that text
/// order is natural order ("layers.2" < "layers.10").
std::string natural_key(const std::string& name);

}  // namespace modeldna::compare::detail
