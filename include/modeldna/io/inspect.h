// File: modeldna/io/inspect.h
// A model file described as data (`modeldna inspect --json`): its format,
// files, counts, dtypes, graph size and metadata, and optionally every
// tensor (dtype, shape, layout, role, bytes, quantization) with statistics
// over every value. Nothing is run. Torch-free.
#pragma once

#include <nlohmann/json.hpp>

#include "modeldna/io/tensor_store.h"

namespace modeldna::io {

struct InspectOptions {
  bool tensors = false;  // every tensor's description
  bool stats = false;    // and its statistics (reads every value; implies tensors)
};

/// One tensor as `inspect --json` lists it.
nlohmann::json tensor_json(const TensorInfo& tensor);
/// Statistics over every value (dequantized).
nlohmann::json stats_json(const TensorStats& stats);
/// The store: format, files, tensor_count, parameter_count, total_bytes,
/// dtypes, graph_nodes, metadata; "language_model" for a decoder language
/// model (its configuration, or {"error": ...} when its metadata is
/// unusable); "tensors" (and "stats_ms") as asked.
nlohmann::json describe_store(const TensorStore& store, const InspectOptions& options);

}  // namespace modeldna::io
