// File: modeldna/nn/model_file.h
// Models on disk: standard safetensors files whose __metadata__ holds
// "modeldna.format" = "model-v1" and "modeldna.arch" = the ArchConfig as JSON.
// Loading reads tensors only (never code), and checks every tensor against the
// architecture the header names. Quantized models store int8 weights with a
// float32 "<name>.qscale" each, and load dequantized.
#pragma once

#include <map>
#include <string>

#include "modeldna/nn/network.h"

namespace modeldna::nn {

inline constexpr const char* kModelFormatKey = "modeldna.format";
inline constexpr const char* kModelFormat = "model-v1";
inline constexpr const char* kArchKey = "modeldna.arch";
inline constexpr const char* kQuantizationKey = "modeldna.quantization";
inline constexpr const char* kInt8PerTensor = "int8-per-tensor";

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
};

/// Throws FormatError naming the file: not safetensors, no or bad modeldna
/// metadata, a missing, unexpected or mis-shaped tensor, non-finite weights.
LoadedModel load_model(const std::string& path);

}  // namespace modeldna::nn
