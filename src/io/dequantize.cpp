#include "modeldna/io/dequantize.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "modeldna/core/error.h"

namespace modeldna::io {
namespace {

template <typename T>
T load(const std::byte* p) {
  T value;
  std::memcpy(&value, p, sizeof(T));
  return value;
}

float bits_to_float(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint32_t float_to_bits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  return bits;
}

float half_at(const std::byte* p) { return f16_to_f32(load<uint16_t>(p)); }

// ---- ggml blocks: layouts of ggml-common.h, formulas of ggml-quants.c ----

constexpr int kQK = 32;    // values per Q4_0 ... Q8_0 block
constexpr int kQKK = 256;  // values per K-quant super-block

// Q4_0: fp16 d, 16 bytes of nibbles; low nibbles are values 0-15, high 16-31.
void q4_0(const std::byte* b, float* y) {
  const float d = half_at(b);
  const auto* qs = reinterpret_cast<const uint8_t*>(b + 2);
  for (int j = 0; j < kQK / 2; ++j) {
    y[j] = static_cast<float>((qs[j] & 0x0F) - 8) * d;
    y[j + kQK / 2] = static_cast<float>((qs[j] >> 4) - 8) * d;
  }
}

// Q4_1: fp16 d, fp16 m, nibbles; x = q*d + m.
void q4_1(const std::byte* b, float* y) {
  const float d = half_at(b), m = half_at(b + 2);
  const auto* qs = reinterpret_cast<const uint8_t*>(b + 4);
  for (int j = 0; j < kQK / 2; ++j) {
    y[j] = static_cast<float>(qs[j] & 0x0F) * d + m;
    y[j + kQK / 2] = static_cast<float>(qs[j] >> 4) * d + m;
  }
}

// Q5_0: fp16 d, 32 high bits (one per value), nibbles; x = (q - 16)*d.
void q5_0(const std::byte* b, float* y) {
  const float d = half_at(b);
  const uint32_t qh = load<uint32_t>(b + 2);
  const auto* qs = reinterpret_cast<const uint8_t*>(b + 6);
  for (int j = 0; j < kQK / 2; ++j) {
    const int hi0 = static_cast<int>((qh >> j) & 1u) << 4;
    const int hi1 = static_cast<int>((qh >> (j + 16)) & 1u) << 4;
    y[j] = static_cast<float>(((qs[j] & 0x0F) | hi0) - 16) * d;
    y[j + kQK / 2] = static_cast<float>(((qs[j] >> 4) | hi1) - 16) * d;
  }
}

// Q5_1: fp16 d, fp16 m, high bits, nibbles; x = q*d + m.
void q5_1(const std::byte* b, float* y) {
  const float d = half_at(b), m = half_at(b + 2);
  const uint32_t qh = load<uint32_t>(b + 4);
  const auto* qs = reinterpret_cast<const uint8_t*>(b + 8);
  for (int j = 0; j < kQK / 2; ++j) {
    const int hi0 = static_cast<int>((qh >> j) & 1u) << 4;
    const int hi1 = static_cast<int>((qh >> (j + 16)) & 1u) << 4;
    y[j] = static_cast<float>((qs[j] & 0x0F) | hi0) * d + m;
    y[j + kQK / 2] = static_cast<float>((qs[j] >> 4) | hi1) * d + m;
  }
}

// Q8_0: fp16 d, 32 int8; x = q*d.
void q8_0(const std::byte* b, float* y) {
  const float d = half_at(b);
  const auto* qs = reinterpret_cast<const int8_t*>(b + 2);
  for (int j = 0; j < kQK; ++j) y[j] = static_cast<float>(qs[j]) * d;
}

// Q2_K: 16 bytes of (4-bit scale | 4-bit min << 4), 64 bytes of 2-bit quants,
// fp16 d, fp16 dmin. Sixteen groups of 16 values.
void q2_k(const std::byte* b, float* y) {
  const auto* scales = reinterpret_cast<const uint8_t*>(b);
  const auto* q = reinterpret_cast<const uint8_t*>(b + 16);
  const float d = half_at(b + 80), dmin = half_at(b + 82);
  int is = 0;
  for (int n = 0; n < kQKK; n += 128) {
    for (int shift = 0; shift < 8; shift += 2) {
      for (int half = 0; half < 2; ++half) {
        const uint8_t sc = scales[is++];
        const float dl = d * static_cast<float>(sc & 0xF), ml = dmin * static_cast<float>(sc >> 4);
        for (int l = 0; l < 16; ++l) *y++ = dl * static_cast<float>((q[l + 16 * half] >> shift) & 3) - ml;
      }
    }
    q += 32;
  }
}

// Q3_K: 32 bytes of high bits, 64 bytes of low 2 bits, 12 bytes packing
// sixteen 6-bit scales (offset by 32), fp16 d.
void q3_k(const std::byte* b, float* y) {
  const auto* hmask = reinterpret_cast<const uint8_t*>(b);
  const auto* q = reinterpret_cast<const uint8_t*>(b + 32);
  const auto* packed = reinterpret_cast<const uint8_t*>(b + 96);
  const float d_all = half_at(b + 108);
  // Scale i: low 4 bits from byte i % 8 (low nibble for i < 8, high for i >= 8),
  // high 2 bits from byte 8 + i % 4, at bit 2 * (i / 4).
  int scales[16];
  for (int i = 0; i < 16; ++i) {
    const int low = (i < 8) ? (packed[i] & 0x0F) : (packed[i - 8] >> 4);
    const int high = (packed[8 + i % 4] >> (2 * (i / 4))) & 3;
    scales[i] = (low | (high << 4)) - 32;
  }
  int is = 0;
  uint8_t m = 1;
  for (int n = 0; n < kQKK; n += 128) {
    for (int shift = 0; shift < 8; shift += 2) {
      for (int half = 0; half < 2; ++half) {
        const float dl = d_all * static_cast<float>(scales[is++]);
        for (int l = 0; l < 16; ++l) {
          const int k = l + 16 * half;
          const int value = ((q[k] >> shift) & 3) - ((hmask[k] & m) ? 0 : 4);
          *y++ = dl * static_cast<float>(value);
        }
      }
      m = static_cast<uint8_t>(m << 1);
    }
    q += 32;
  }
}

// The 6-bit (scale, min) pair j of a Q4_K / Q5_K block's 12 packed bytes.
void scale_min_k4(int j, const uint8_t* q, uint8_t* scale, uint8_t* min) {
  if (j < 4) {
    *scale = q[j] & 63;
    *min = q[j + 4] & 63;
  } else {
    *scale = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *min = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

// Q4_K: fp16 d, fp16 dmin, 12 scale bytes, 128 bytes of nibbles; eight
// groups of 32: x = d*scale*q - dmin*min.
void q4_k(const std::byte* b, float* y) {
  const float d = half_at(b), dmin = half_at(b + 2);
  const auto* scales = reinterpret_cast<const uint8_t*>(b + 4);
  const auto* q = reinterpret_cast<const uint8_t*>(b + 16);
  int is = 0;
  for (int j = 0; j < kQKK; j += 64) {
    uint8_t sc, mn;
    scale_min_k4(is, scales, &sc, &mn);
    const float d1 = d * sc, m1 = dmin * mn;
    scale_min_k4(is + 1, scales, &sc, &mn);
    const float d2 = d * sc, m2 = dmin * mn;
    for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>(q[l] & 0xF) - m1;
    for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>(q[l] >> 4) - m2;
    q += 32;
    is += 2;
  }
}

// Q5_K: as Q4_K plus 32 bytes holding the fifth bit of every value.
void q5_k(const std::byte* b, float* y) {
  const float d = half_at(b), dmin = half_at(b + 2);
  const auto* scales = reinterpret_cast<const uint8_t*>(b + 4);
  const auto* qh = reinterpret_cast<const uint8_t*>(b + 16);
  const auto* ql = reinterpret_cast<const uint8_t*>(b + 48);
  int is = 0;
  unsigned u1 = 1, u2 = 2;
  for (int j = 0; j < kQKK; j += 64) {
    uint8_t sc, mn;
    scale_min_k4(is, scales, &sc, &mn);
    const float d1 = d * sc, m1 = dmin * mn;
    scale_min_k4(is + 1, scales, &sc, &mn);
    const float d2 = d * sc, m2 = dmin * mn;
    for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>((ql[l] & 0xF) + ((qh[l] & u1) ? 16 : 0)) - m1;
    for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>((ql[l] >> 4) + ((qh[l] & u2) ? 16 : 0)) - m2;
    ql += 32;
    is += 2;
    u1 <<= 2;
    u2 <<= 2;
  }
}

// Q6_K: 128 bytes of low nibbles, 64 bytes of high 2 bits, 16 int8 scales,
// fp16 d; x = d*scale*(q - 32) in sixteen groups of 16.
void q6_k(const std::byte* b, float* y) {
  const auto* ql = reinterpret_cast<const uint8_t*>(b);
  const auto* qh = reinterpret_cast<const uint8_t*>(b + 128);
  const auto* sc = reinterpret_cast<const int8_t*>(b + 192);
  const float d = half_at(b + 208);
  for (int n = 0; n < kQKK; n += 128) {
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[l] = d * static_cast<float>(sc[is]) * static_cast<float>(q1);
      y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
      y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
      y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
    }
    y += 128;
    ql += 64;
    qh += 32;
    sc += 8;
  }
}

// Q8_K: float32 d, 256 int8, then 16 int16 group sums (unused here).
void q8_k(const std::byte* b, float* y) {
  const float d = load<float>(b);
  const auto* qs = reinterpret_cast<const int8_t*>(b + 4);
  for (int j = 0; j < kQKK; ++j) y[j] = d * static_cast<float>(qs[j]);
}

// Many blocks through one scheme: the block function is a template
// argument, so it inlines into the loop.
template <void (*Block)(const std::byte*, float*), uint32_t kElems, uint32_t kBytes>
void blocks(const std::byte* src, uint64_t count, float* out) {
  for (uint64_t b = 0; b < count / kElems; ++b) Block(src + b * kBytes, out + b * kElems);
}

using BlocksFn = void (*)(const std::byte*, uint64_t, float*);

BlocksFn blocks_fn(DType dtype) {
  switch (dtype) {
    case DType::Q4_0: return blocks<q4_0, 32, 18>;
    case DType::Q4_1: return blocks<q4_1, 32, 20>;
    case DType::Q5_0: return blocks<q5_0, 32, 22>;
    case DType::Q5_1: return blocks<q5_1, 32, 24>;
    case DType::Q8_0: return blocks<q8_0, 32, 34>;
    case DType::Q2_K: return blocks<q2_k, 256, 84>;
    case DType::Q3_K: return blocks<q3_k, 256, 110>;
    case DType::Q4_K: return blocks<q4_k, 256, 144>;
    case DType::Q5_K: return blocks<q5_k, 256, 176>;
    case DType::Q6_K: return blocks<q6_k, 256, 210>;
    case DType::Q8_K: return blocks<q8_k, 256, 292>;
    default: return nullptr;
  }
}

template <typename T>
void convert(const std::byte* src, uint64_t count, float* out) {
  for (uint64_t i = 0; i < count; ++i) out[i] = static_cast<float>(load<T>(src + i * sizeof(T)));
}

}  // namespace

float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1Fu;
  uint32_t mantissa = h & 0x3FFu;
  if (exponent == 0x1F) return bits_to_float(sign | 0x7F800000u | (mantissa << 13));  // inf / NaN
  if (exponent == 0) {
    if (mantissa == 0) return bits_to_float(sign);
    // Subnormal: normalise the mantissa.
    int shift = 0;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      ++shift;
    }
    mantissa &= 0x3FFu;
    return bits_to_float(sign | (static_cast<uint32_t>(127 - 15 + 1 - shift) << 23) | (mantissa << 13));
  }
  return bits_to_float(sign | ((exponent + 127 - 15) << 23) | (mantissa << 13));
}

float bf16_to_f32(uint16_t bits) { return bits_to_float(static_cast<uint32_t>(bits) << 16); }

float f8_e4m3_to_f32(uint8_t bits) {
  const float sign = (bits & 0x80) ? -1.0f : 1.0f;
  const int exponent = (bits >> 3) & 0xF, mantissa = bits & 0x7;
  if (exponent == 0xF && mantissa == 0x7) return std::numeric_limits<float>::quiet_NaN();
  if (exponent == 0) return sign * std::ldexp(static_cast<float>(mantissa) / 8.0f, -6);
  return sign * std::ldexp(1.0f + static_cast<float>(mantissa) / 8.0f, exponent - 7);
}

// E5M2 is the upper byte of an IEEE half.
float f8_e5m2_to_f32(uint8_t bits) { return f16_to_f32(static_cast<uint16_t>(bits << 8)); }

uint16_t f32_to_f16(float value) {
  const uint32_t x = float_to_bits(value);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t abs = x & 0x7FFFFFFFu;
  if (abs >= 0x7F800000u) return static_cast<uint16_t>(sign | 0x7C00u | (abs > 0x7F800000u ? 0x200u : 0u));
  if (abs >= 0x477FF000u) return static_cast<uint16_t>(sign | 0x7C00u);  // rounds above 65504
  if (abs < 0x38800000u) {
    // Subnormal half (or zero): value / 2^-24, rounded to nearest even.
    if (abs < 0x33000000u) return sign;  // below half the smallest subnormal
    const uint32_t mantissa = (abs & 0x7FFFFFu) | 0x800000u;
    const int shift = 126 - static_cast<int>(abs >> 23);  // 14..24 more bits to drop
    const uint32_t kept = mantissa >> shift;
    const uint32_t rest = mantissa & ((1u << shift) - 1), halfway = 1u << (shift - 1);
    const uint32_t rounded = kept + ((rest > halfway || (rest == halfway && (kept & 1))) ? 1 : 0);
    return static_cast<uint16_t>(sign | rounded);
  }
  // Normal: rebias the exponent, round the mantissa from 23 to 10 bits.
  const uint32_t rebiased = abs - (static_cast<uint32_t>(127 - 15) << 23);
  const uint32_t kept = rebiased >> 13, rest = rebiased & 0x1FFFu;
  const uint32_t rounded = kept + ((rest > 0x1000u || (rest == 0x1000u && (kept & 1))) ? 1 : 0);
  return static_cast<uint16_t>(sign | rounded);
}

uint16_t f32_to_bf16(float value) {
  const uint32_t x = float_to_bits(value);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet NaN
  const uint32_t rounding = 0x7FFFu + ((x >> 16) & 1u);
  return static_cast<uint16_t>((x + rounding) >> 16);
}

void to_f32(DType dtype, const std::byte* src, uint64_t count, float* out) {
  switch (dtype) {
    case DType::F64: return convert<double>(src, count, out);
    case DType::F32:
      if (count) std::memcpy(out, src, count * 4);
      return;
    case DType::F16:
      for (uint64_t i = 0; i < count; ++i) out[i] = f16_to_f32(load<uint16_t>(src + 2 * i));
      return;
    case DType::BF16:
      for (uint64_t i = 0; i < count; ++i) out[i] = bf16_to_f32(load<uint16_t>(src + 2 * i));
      return;
    case DType::F8_E4M3:
      for (uint64_t i = 0; i < count; ++i) out[i] = f8_e4m3_to_f32(static_cast<uint8_t>(src[i]));
      return;
    case DType::F8_E5M2:
      for (uint64_t i = 0; i < count; ++i) out[i] = f8_e5m2_to_f32(static_cast<uint8_t>(src[i]));
      return;
    case DType::I64: return convert<int64_t>(src, count, out);
    case DType::I32: return convert<int32_t>(src, count, out);
    case DType::I16: return convert<int16_t>(src, count, out);
    case DType::I8: return convert<int8_t>(src, count, out);
    case DType::U64: return convert<uint64_t>(src, count, out);
    case DType::U32: return convert<uint32_t>(src, count, out);
    case DType::U16: return convert<uint16_t>(src, count, out);
    case DType::U8: return convert<uint8_t>(src, count, out);
    case DType::BOOL:
      for (uint64_t i = 0; i < count; ++i) out[i] = src[i] != std::byte{0} ? 1.0f : 0.0f;
      return;
    default: break;
  }
  const BlocksFn fn = blocks_fn(dtype);
  const auto& t = traits(dtype);
  MDNA_ASSERT(fn != nullptr, "no dequantization for " + std::string(t.name));
  MDNA_ASSERT(count % t.block_elems == 0, "to_f32: " + std::to_string(count) + " values of " + std::string(t.name));
  fn(src, count, out);
}

}  // namespace modeldna::io
