// File: modeldna/io/convert.h
// Any readable model file to a standard safetensors file (and a Llama to
// llama.cpp's GGUF, below): tensor names as the
// source names them, shapes in logical order (outermost first, so GGUF
// tensors come out in their PyTorch shape), quantized tensors dequantized,
// the source's metadata (and each tensor's layout and role) carried in
// __metadata__. Streams tensor by tensor. Torch-free.
#pragma once

#include <string>

#include "modeldna/io/gguf_writer.h"
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

/// "f32", "f16", "bf16", "q8_0", "q4_k_m", "q5_k_m", "q6_k"; UsageError otherwise.
LlamaFileType parse_llama_file_type(const std::string& text);

/// A Llama-architecture language model (a Hugging Face checkpoint with its
/// config.json and tokenizer.model beside it, or a GGUF) written as
/// llama.cpp's convert_hf_to_gguf.py writes it (write_llama_gguf): a
/// checkpoint converted with `type` f16 or q8_0 gives the converter's
/// own tensors byte for byte, and q6_k or q4_k_m llama-quantize's
/// (tests/io/gguf_writer_test.cpp). A GGUF source is re-encoded (its values as
/// dequantized). FormatError naming the file when it is no language model
/// or has no tokenizer; UsageError for an architecture other than Llama's.
void convert_to_gguf(const TensorStore& store, const std::string& out, LlamaFileType type);

/// Layout and role by name ("OHWI", "weight"); nullopt for an unknown name.
std::optional<Layout> parse_layout(std::string_view name);
std::optional<Role> parse_role(std::string_view name);

}  // namespace modeldna::io
