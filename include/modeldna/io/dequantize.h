// File: modeldna/io/dequantize.h
// Stored values to float32: one routine per scheme, shared by every reader,
// each a transcription of its format's reference (IEEE 754 half, bfloat16, the
// OCP 8-bit floats, and llama.cpp's dequantize_row_* for the ggml blocks).
// They work on slices, so a caller can stream a tensor of any size through a
// small buffer. Torch-free.
#pragma once

#include <cstddef>
#include <cstdint>

#include "modeldna/io/dtype.h"

namespace modeldna::io {

float f16_to_f32(uint16_t bits);
float bf16_to_f32(uint16_t bits);
float f8_e4m3_to_f32(uint8_t bits);  // E4M3FN: no infinities, S.1111.111 is NaN
float f8_e5m2_to_f32(uint8_t bits);
/// Round to nearest even; overflow becomes infinity, NaN stays NaN.
uint16_t f32_to_f16(float value);
uint16_t f32_to_bf16(float value);

/// Converts `count` stored elements at `src` (little-endian, any alignment) to
/// float32. Integers and booleans convert their value as is (no scale: affine
/// quantization is TensorStore's business). For block types `count` must be a
/// whole number of blocks, else InternalError (callers slice on blocks).
void to_f32(DType dtype, const std::byte* src, uint64_t count, float* out);

}  // namespace modeldna::io
