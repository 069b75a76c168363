// File: modeldna/nn/model_file.h
// Models on disk: modeldna writes standard safetensors files whose
// __metadata__ holds "modeldna.format" = "model-v1" and "modeldna.arch" = the
// ArchConfig as JSON. Any file is data (io::TensorStore); it is runnable when
// its store carries such an architecture. Loading reads tensors only (never
// code), and checks every tensor against the architecture the header names.
// Quantized models store int8 weights with a float32 "<name>.qscale" each,
// and load dequantized.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "modeldna/io/safetensors.h"
#include "modeldna/io/tensor_store.h"

#include "modeldna/nn/model_format.h"
#include "modeldna/nn/network.h"

namespace modeldna::nn {

using io::kInt8PerTensor;
using io::kQuantizationKey;

struct SaveOptions {
  /// Store weight matrices and kernels as int8 (per-tensor symmetric scale).
  /// The network must already hold int8-representable weights
  /// (quantize_int8_per_tensor) for the file to reproduce it exactly.
  bool int8_weights = false;
  std::map<std::string, std::string> metadata;  // extra __metadata__ entries
};

void save_model(const std::string& path, const Network& net, const SaveOptions& options = {});

struct LoadedModel {
  NetworkPtr network;  // in eval mode
  std::map<std::string, std::string> metadata;
  std::shared_ptr<const io::TensorStore> store;  // the file as data
};

/// The built-in architecture a store carries (its modeldna metadata), or
/// nullopt when it carries none; FormatError for malformed metadata.
std::optional<ArchConfig> runnable_arch(const io::TensorStore& store);

/// Builds a runnable network from any file whose store carries a built-in
/// architecture (a modeldna model, or its conversion to another file).
/// FormatError naming the file: unreadable, no or bad modeldna metadata, a
/// missing, unexpected or mis-shaped tensor, non-finite weights.
LoadedModel load_model(const std::string& path);
LoadedModel load_model(std::shared_ptr<const io::TensorStore> store);

}  // namespace modeldna::nn
