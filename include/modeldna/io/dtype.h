// File: modeldna/io/dtype.h
// Every element type a model file can store, in one closed set: plain numbers
// (one element per `block_bytes`) and ggml's block-quantized types (blocks of
// `block_elems` values sharing scales, docs/formats/gguf.md). Torch-free.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>

namespace modeldna::io {

enum class DType : uint8_t {
  // Floats.
  F64, F32, F16, BF16, F8_E4M3, F8_E5M2,
  // Integers and booleans.
  I64, I32, I16, I8, U64, U32, U16, U8, BOOL,
  // ggml blocks (llama.cpp's reference dequantization, dequantize.h).
  Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K,
};

enum class DTypeKind : uint8_t { Float, Integer, Bool, Block };

struct DTypeTraits {
  DType dtype;
  std::string_view name;    // "F32", "BF16", "Q4_K": safetensors' and ggml's spelling
  DTypeKind kind;
  uint32_t block_elems;     // 1 for plain types
  uint32_t block_bytes;     // bytes per block (per element for plain types)
};

const DTypeTraits& traits(DType dtype);
inline std::string_view dtype_name(DType dtype) { return traits(dtype).name; }
/// nullopt for a name that is not one of ours.
std::optional<DType> parse_dtype(std::string_view name);
/// Bytes per element of a plain type; UsageError for a block type.
std::size_t dtype_size(DType dtype);
inline bool is_block(DType dtype) { return traits(dtype).kind == DTypeKind::Block; }
/// Floats and blocks hold real values; dequantized they read as float32.
inline bool is_real(DType dtype) { return traits(dtype).kind == DTypeKind::Float || is_block(dtype); }

/// Bytes needed for `numel` elements, or nullopt when a block type's count is
/// not a whole number of blocks or the product overflows.
std::optional<uint64_t> bytes_for(DType dtype, uint64_t numel);

/// Checked product of dimensions, or nullopt on overflow (beyond int64) or a
/// negative dimension. Every reader sizes tensors through it.
template <typename Dims>
std::optional<uint64_t> checked_numel(const Dims& dims) {
  uint64_t n = 1;
  for (const auto dim : dims) {
    if constexpr (std::is_signed_v<std::decay_t<decltype(dim)>>)
      if (dim < 0) return std::nullopt;
    if (__builtin_mul_overflow(n, static_cast<uint64_t>(dim), &n) || n > uint64_t{INT64_MAX}) return std::nullopt;
  }
  return n;
}

}  // namespace modeldna::io
