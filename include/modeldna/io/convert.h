// File: modeldna/io/convert.h
// Any readable model file to a standard safetensors file: tensor names as the
// source names them, shapes in logical order (outermost first, so GGUF
// tensors come out in their PyTorch shape), quantized tensors dequantized,
// the source's metadata (and each tensor's layout and role) carried in
// __metadata__. Streams tensor by tensor. Torch-free.
#pragma once

#include <string>

#include "modeldna/io/tensor_store.h"

namespace modeldna::io {

enum class ConvertDType {
  F32,   // every real tensor as float32 (the default)
  F16,   // every real tensor as float16
  Keep,  // plain types kept as stored; block- or affine-quantized ones become float32
};
/// "f32", "f16", "keep"; UsageError otherwise.
ConvertDType parse_convert_dtype(const std::string& text);

/// __metadata__ keys the converter writes beside the source's own.
inline constexpr const char* kSourceFormatKey = "modeldna.source_format";
inline constexpr const char* kLayoutsKey = "modeldna.layouts";  // JSON {tensor: layout name}
inline constexpr const char* kRolesKey = "modeldna.roles";      // JSON {tensor: role name}

struct ConvertResult {
  int64_t tensors = 0;
  int64_t dequantized = 0;  // block- or affine-quantized tensors turned into floats
  uint64_t bytes_written = 0;
};

/// Writes `out` atomically. Integer and bool tensors that are not affine
/// quantized (indices, masks, step counters) keep their dtype.
ConvertResult convert_to_safetensors(const TensorStore& store, const std::string& out, ConvertDType dtype);

/// Layout and role by name ("OHWI", "weight"); nullopt for an unknown name.
std::optional<Layout> parse_layout(std::string_view name);
std::optional<Role> parse_role(std::string_view name);

}  // namespace modeldna::io
