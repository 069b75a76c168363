#include "modeldna/io/gguf_writer.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "modeldna/core/error.h"
#include "modeldna/core/json_file.h"
#include "modeldna/io/dequantize.h"

namespace modeldna::io {
namespace {

// GGUF v3 (ggml's gguf.h): metadata value types and the tensor types written.
enum : uint32_t {
  kUint32 = 4, kInt32 = 5, kFloat32 = 6, kBool = 7, kString = 8, kArray = 9, kUint64 = 10,
};
constexpr uint32_t kGgufVersion = 3;
constexpr uint64_t kAlignment = 32;  // general.alignment's default
constexpr int64_t kQ8Block = 32;     // ggml's QK8_0
constexpr int64_t kSuperBlock = 256;  // ggml's QK_K
constexpr int64_t kQ6SubBlock = 16;   // values per Q6_K scale
constexpr int64_t kQ4SubBlock = 32;   // values per Q4_K scale and minimum
constexpr float kGroupMaxEps = 1e-15f;  // ggml's GROUP_MAX_EPS: a group below it is all zero

uint32_t ggml_type(GgufEncoding e) {
  switch (e) {
    case GgufEncoding::F32: return 0;
    case GgufEncoding::F16: return 1;
    case GgufEncoding::BF16: return 30;
    case GgufEncoding::Q8_0: return 8;
    case GgufEncoding::Q4_K: return 12;
    case GgufEncoding::Q5_K: return 13;
    case GgufEncoding::Q6_K: return 14;
  }
  throw InternalError("invalid GgufEncoding");
}

class Bytes {
 public:
  template <typename T>
  void put(T value) {
    char raw[sizeof(T)];
    std::memcpy(raw, &value, sizeof(T));  // little-endian hosts only, as the reader
    out_.append(raw, sizeof(T));
  }
  void text(const std::string& s) {
    put<uint64_t>(s.size());
    out_ += s;
  }
  void raw(const void* data, std::size_t size) { out_.append(static_cast<const char*>(data), size); }
  void pad() { out_.append((kAlignment - out_.size() % kAlignment) % kAlignment, '\0'); }
  std::size_t size() const { return out_.size(); }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

void put_value(Bytes& b, const GgufValue& v) {
  struct Visitor {
    Bytes& b;
    void operator()(uint32_t x) const { b.put<uint32_t>(kUint32), b.put(x); }
    void operator()(int32_t x) const { b.put<uint32_t>(kInt32), b.put(x); }
    void operator()(uint64_t x) const { b.put<uint32_t>(kUint64), b.put(x); }
    void operator()(float x) const { b.put<uint32_t>(kFloat32), b.put(x); }
    void operator()(bool x) const { b.put<uint32_t>(kBool), b.put<uint8_t>(x ? 1 : 0); }
    void operator()(const std::string& x) const { b.put<uint32_t>(kString), b.text(x); }
    void operator()(const std::vector<std::string>& xs) const {
      b.put<uint32_t>(kArray), b.put<uint32_t>(kString), b.put<uint64_t>(xs.size());
      for (const auto& x : xs) b.text(x);
    }
    void operator()(const std::vector<float>& xs) const {
      b.put<uint32_t>(kArray), b.put<uint32_t>(kFloat32), b.put<uint64_t>(xs.size());
      for (float x : xs) b.put(x);
    }
    void operator()(const std::vector<int32_t>& xs) const {
      b.put<uint32_t>(kArray), b.put<uint32_t>(kInt32), b.put<uint64_t>(xs.size());
      for (int32_t x : xs) b.put(x);
    }
  };
  std::visit(Visitor{b}, v);
}

std::vector<uint8_t> encoded(const GgufTensorToWrite& t) {
  std::vector<uint8_t> out;
  switch (t.encoding) {
    case GgufEncoding::F32:
      out.resize(t.values.size() * 4);
      std::memcpy(out.data(), t.values.data(), out.size());
      return out;
    case GgufEncoding::F16:
    case GgufEncoding::BF16:
      out.resize(t.values.size() * 2);
      for (std::size_t i = 0; i < t.values.size(); ++i) {
        const uint16_t h = t.encoding == GgufEncoding::F16 ? f32_to_f16(t.values[i]) : f32_to_bf16(t.values[i]);
        std::memcpy(out.data() + 2 * i, &h, 2);
      }
      return out;
    case GgufEncoding::Q8_0:
      if (t.shape.empty() || t.shape.back() % kQ8Block != 0)
        throw UsageError("tensor " + t.name + ": Q8_0 needs rows of whole 32-value blocks");
      return quantize_q8_0(t.values);
    case GgufEncoding::Q4_K:
    case GgufEncoding::Q5_K:
    case GgufEncoding::Q6_K:
      if (t.shape.empty() || t.shape.back() % kSuperBlock != 0)
        throw UsageError("tensor " + t.name + ": K-quants need rows of whole 256-value super-blocks");
      if (t.encoding == GgufEncoding::Q4_K) return quantize_q4_k(t.values);
      return t.encoding == GgufEncoding::Q5_K ? quantize_q5_k(t.values) : quantize_q6_k(t.values);
  }
  throw InternalError("invalid GgufEncoding");
}

// ggml's nearest_int: adding 1.5 * 2^23 leaves the value rounded half to
// even in the low mantissa bits.
int nearest_int(float value) {
  const float shifted = value + 12582912.f;
  int32_t bits;
  std::memcpy(&bits, &shifted, sizeof bits);
  return (bits & 0x007fffff) - 0x00400000;
}

// ggml's make_qx_quants with rmse_type 1 and no importance weights: the
// signed codes (offset by nmax into `codes`) and scale of one group, the
// scale refined over 18 trial steps around -nmax / max, weighting each
// value by its square. In float32, in ggml's order of operations.
float symmetric_group(int n, int nmax, const float* x, int8_t* codes) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i)
    if (std::fabs(x[i]) > amax) amax = std::fabs(x[i]), max = x[i];
  if (amax < kGroupMaxEps) {
    std::fill(codes, codes + n, int8_t{0});
    return 0.f;
  }
  const auto fit = [&](float iscale, float& sumlx, float& suml2, bool keep) {
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::max(-nmax, std::min(nmax - 1, nearest_int(iscale * x[i])));
      if (keep) codes[i] = static_cast<int8_t>(l + nmax);
      const float w = x[i] * x[i];
      sumlx += w * x[i] * static_cast<float>(l);
      suml2 += w * static_cast<float>(l) * static_cast<float>(l);
    }
  };
  float sumlx, suml2;
  fit(static_cast<float>(-nmax) / max, sumlx, suml2, true);
  float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int step = -9; step <= 9; ++step) {
    if (step == 0) continue;
    const float iscale = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(step)) / max;
    fit(iscale, sumlx, suml2, false);
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      fit(iscale, sumlx, suml2, true);
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

// ggml's make_qkx2_quants without mean absolute deviation: the 4-bit codes
// (0..nmax) of a group x - min, with its scale and minimum (returned
// negated, as ggml does: `the_min` >= 0) refined over nstep + 1 trial
// scales by weighted least squares. In float32, in ggml's order.
float asymmetric_group(int n, int nmax, const float* x, const float* weights, uint8_t* codes, float& the_min,
                       float rmin, float rdelta, int nstep) {
  float min = x[0], max = x[0];
  float sum_w = weights[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    min = std::min(min, x[i]);
    max = std::max(max, x[i]);
    sum_w += weights[i];
    sum_x += weights[i] * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    std::fill(codes, codes + n, uint8_t{0});
    the_min = -min;
    return 0.f;
  }
  float iscale = static_cast<float>(nmax) / (max - min);
  float scale = 1 / iscale;
  float best_error = 0;
  for (int i = 0; i < n; ++i) {
    codes[i] = static_cast<uint8_t>(std::max(0, std::min(nmax, nearest_int(iscale * (x[i] - min)))));
    const float diff = scale * static_cast<float>(codes[i]) + min - x[i];
    best_error += weights[i] * (diff * diff);
  }
  uint8_t trial[kQ4SubBlock];
  for (int step = 0; step <= nstep; ++step) {
    iscale = (rmin + rdelta * static_cast<float>(step) + static_cast<float>(nmax)) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::max(0, std::min(nmax, nearest_int(iscale * (x[i] - min))));
      trial[i] = static_cast<uint8_t>(l);
      const float w = weights[i];
      sum_l += w * static_cast<float>(l);
      sum_l2 += w * static_cast<float>(l) * static_cast<float>(l);
      sum_xl += w * static_cast<float>(l) * x[i];
    }
    const float determinant = sum_w * sum_l2 - sum_l * sum_l;
    if (determinant <= 0) continue;
    float this_scale = (sum_w * sum_xl - sum_x * sum_l) / determinant;
    float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / determinant;
    if (this_min > 0) {
      this_min = 0;
      this_scale = sum_xl / sum_l2;
    }
    float error = 0;
    for (int i = 0; i < n; ++i) {
      const float diff = this_scale * static_cast<float>(trial[i]) + this_min - x[i];
      error += weights[i] * (diff * diff);
    }
    if (error < best_error) {
      std::copy(trial, trial + n, codes);
      best_error = error;
      scale = this_scale;
      min = this_min;
    }
  }
  the_min = -min;
  return scale;
}

// ggml's get_scale_min_k4: group j's 6-bit scale and minimum in the 12
// packed bytes of a Q4_K block.
void scale_and_min(int j, const uint8_t* packed, uint8_t& scale, uint8_t& min) {
  if (j < 4) {
    scale = packed[j] & 63;
    min = packed[j + 4] & 63;
  } else {
    scale = static_cast<uint8_t>((packed[j + 4] & 0xF) | ((packed[j - 4] >> 6) << 4));
    min = static_cast<uint8_t>((packed[j + 4] >> 4) | ((packed[j] >> 6) << 4));
  }
}

}  // namespace

namespace {

// What differs between the K-quants that fit a minimum per group of 32
// (Q4_K, Q5_K): the code range, make_qkx2_quants' trial steps, and how the
// codes are packed after the 16 bytes of d, dmin and the 12 scale bytes.
struct QuantWithMinimum {
  int nmax;
  float rmin, rdelta;
  int nsteps;
  int code_bytes;
  void (*pack)(const uint8_t* codes, uint8_t* out);
};

// Q4_K: two 4-bit codes 32 apart per byte.
void pack_q4(const uint8_t* codes, uint8_t* qs) {
  for (int j = 0; j < kSuperBlock; j += 64, qs += 32)
    for (int l = 0; l < 32; ++l) qs[l] = static_cast<uint8_t>(codes[j + l] | (codes[j + l + 32] << 4));
}

// Q5_K: the low 4 bits as Q4_K's (after 32 bytes of qh), the fifth bit of
// each code in qh, two bit planes per 64 values.
void pack_q5(const uint8_t* codes, uint8_t* out) {
  uint8_t* qh = out;
  uint8_t* ql = out + kSuperBlock / 8;
  uint8_t high_first = 1, high_second = 2;
  for (int n = 0; n < kSuperBlock; n += 64, ql += 32) {
    for (int j = 0; j < 32; ++j) {
      int first = codes[n + j], second = codes[n + j + 32];
      if (first > 15) first -= 16, qh[j] = static_cast<uint8_t>(qh[j] | high_first);
      if (second > 15) second -= 16, qh[j] = static_cast<uint8_t>(qh[j] | high_second);
      ql[j] = static_cast<uint8_t>(first | (second << 4));
    }
    high_first = static_cast<uint8_t>(high_first << 2);
    high_second = static_cast<uint8_t>(high_second << 2);
  }
}

constexpr QuantWithMinimum kQ4K{15, -1.f, 0.1f, 20, kSuperBlock / 2, pack_q4};
constexpr QuantWithMinimum kQ5K{31, -0.5f, 0.1f, 15, kSuperBlock / 8 + kSuperBlock / 2, pack_q5};

// ggml's quantize_row_q4_K_ref / quantize_row_q5_K_ref.
std::vector<uint8_t> quantize_with_minimum(const std::vector<float>& values, const QuantWithMinimum& q) {
  MDNA_CHECK(values.size() % kSuperBlock == 0, "K-quants quantize whole super-blocks of 256 values");
  constexpr int kGroups = kSuperBlock / kQ4SubBlock;
  constexpr int kPackedScales = 12;
  const int block_bytes = 2 + 2 + kPackedScales + q.code_bytes;  // d, dmin, scales, codes
  std::vector<uint8_t> out(values.size() / kSuperBlock * static_cast<std::size_t>(block_bytes), 0);
  for (std::size_t b = 0; b < values.size() / kSuperBlock; ++b) {
    const float* x = values.data() + b * kSuperBlock;
    uint8_t* block = out.data() + b * static_cast<std::size_t>(block_bytes);
    uint8_t codes[kSuperBlock];
    float scales[kGroups], mins[kGroups], weights[kQ4SubBlock];
    float max_scale = 0, max_min = 0;
    for (int g = 0; g < kGroups; ++g) {
      const float* xg = x + kQ4SubBlock * g;
      float sum_x2 = 0;
      for (int l = 0; l < kQ4SubBlock; ++l) sum_x2 += xg[l] * xg[l];
      const float average = std::sqrt(sum_x2 / kQ4SubBlock);
      for (int l = 0; l < kQ4SubBlock; ++l) weights[l] = average + std::fabs(xg[l]);
      scales[g] = asymmetric_group(kQ4SubBlock, q.nmax, xg, weights, codes + kQ4SubBlock * g, mins[g], q.rmin, q.rdelta,
                                   q.nsteps);
      max_scale = std::max(max_scale, scales[g]);
      max_min = std::max(max_min, mins[g]);
    }
    const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    uint8_t* packed = block + 4;
    for (int g = 0; g < kGroups; ++g) {
      // ggml stores nearest_int's result in a uint8_t first, then caps it.
      const auto ls = std::min<uint8_t>(63, static_cast<uint8_t>(nearest_int(inv_scale * scales[g])));
      const auto lm = std::min<uint8_t>(63, static_cast<uint8_t>(nearest_int(inv_min * mins[g])));
      if (g < 4) {
        packed[g] = ls;
        packed[g + 4] = lm;
      } else {
        packed[g + 4] = static_cast<uint8_t>((ls & 0xF) | ((lm & 0xF) << 4));
        packed[g - 4] = static_cast<uint8_t>(packed[g - 4] | ((ls >> 4) << 6));
        packed[g] = static_cast<uint8_t>(packed[g] | ((lm >> 4) << 6));
      }
    }
    const uint16_t d_half = f32_to_f16(max_scale / 63.f), dmin_half = f32_to_f16(max_min / 63.f);
    block[0] = static_cast<uint8_t>(d_half & 0xFF);
    block[1] = static_cast<uint8_t>(d_half >> 8);
    block[2] = static_cast<uint8_t>(dmin_half & 0xFF);
    block[3] = static_cast<uint8_t>(dmin_half >> 8);
    // Each value again against the stored scale and minimum.
    for (int g = 0; g < kGroups; ++g) {
      uint8_t sc, m;
      scale_and_min(g, packed, sc, m);
      const float d = f16_to_f32(d_half) * static_cast<float>(sc);
      if (d == 0) continue;
      const float dm = f16_to_f32(dmin_half) * static_cast<float>(m);
      for (int i = 0; i < kQ4SubBlock; ++i)
        codes[kQ4SubBlock * g + i] =
            static_cast<uint8_t>(std::max(0, std::min(q.nmax, nearest_int((x[kQ4SubBlock * g + i] + dm) / d))));
    }
    q.pack(codes, block + 4 + kPackedScales);
  }
  return out;
}

}  // namespace

std::vector<uint8_t> quantize_q4_k(const std::vector<float>& values) { return quantize_with_minimum(values, kQ4K); }

std::vector<uint8_t> quantize_q5_k(const std::vector<float>& values) { return quantize_with_minimum(values, kQ5K); }

std::vector<uint8_t> quantize_q6_k(const std::vector<float>& values) {
  MDNA_CHECK(values.size() % kSuperBlock == 0, "Q6_K quantizes whole super-blocks of 256 values");
  constexpr int kGroups = kSuperBlock / kQ6SubBlock;
  constexpr int kBlockBytes = kSuperBlock / 2 + kSuperBlock / 4 + kGroups + 2;  // ql, qh, scales, d
  std::vector<uint8_t> out(values.size() / kSuperBlock * kBlockBytes, 0);
  for (std::size_t b = 0; b < values.size() / kSuperBlock; ++b) {
    const float* x = values.data() + b * kSuperBlock;
    uint8_t* block = out.data() + b * kBlockBytes;
    int8_t codes[kSuperBlock];
    float scales[kGroups];
    float max_scale = 0, max_abs_scale = 0;
    for (int g = 0; g < kGroups; ++g) {
      scales[g] = symmetric_group(kQ6SubBlock, 32, x + kQ6SubBlock * g, codes + kQ6SubBlock * g);
      if (std::fabs(scales[g]) > max_abs_scale) max_abs_scale = std::fabs(scales[g]), max_scale = scales[g];
    }
    if (max_abs_scale < kGroupMaxEps) continue;  // all zero, d = 0
    const float iscale = -128.f / max_scale;
    const uint16_t d_half = f32_to_f16(1 / iscale);
    int8_t* group_scales = reinterpret_cast<int8_t*>(block + kSuperBlock / 2 + kSuperBlock / 4);
    for (int g = 0; g < kGroups; ++g) group_scales[g] = static_cast<int8_t>(std::min(127, nearest_int(iscale * scales[g])));
    block[kBlockBytes - 2] = static_cast<uint8_t>(d_half & 0xFF);
    block[kBlockBytes - 1] = static_cast<uint8_t>(d_half >> 8);
    // Each value again against the stored scale (a group whose stored scale
    // is zero keeps its first codes, as ggml does).
    for (int g = 0; g < kGroups; ++g) {
      const float d = f16_to_f32(d_half) * static_cast<float>(group_scales[g]);
      if (d == 0) continue;
      for (int i = 0; i < kQ6SubBlock; ++i) {
        const int l = std::max(-32, std::min(31, nearest_int(x[kQ6SubBlock * g + i] / d)));
        codes[kQ6SubBlock * g + i] = static_cast<int8_t>(l + 32);
      }
    }
    // Low 4 bits of four values 32 apart share two bytes of ql; their high
    // 2 bits share one byte of qh (ggml's block_q6_K).
    uint8_t* ql = block;
    uint8_t* qh = block + kSuperBlock / 2;
    for (int half = 0; half < kSuperBlock; half += 128, ql += 64, qh += 32) {
      for (int l = 0; l < 32; ++l) {
        const auto q = [&](int k) { return static_cast<uint8_t>(codes[half + l + 32 * k]); };
        ql[l] = static_cast<uint8_t>((q(0) & 0xF) | ((q(2) & 0xF) << 4));
        ql[l + 32] = static_cast<uint8_t>((q(1) & 0xF) | ((q(3) & 0xF) << 4));
        qh[l] = static_cast<uint8_t>((q(0) >> 4) | ((q(1) >> 4) << 2) | ((q(2) >> 4) << 4) | ((q(3) >> 4) << 6));
      }
    }
  }
  return out;
}

std::vector<uint8_t> quantize_q8_0(const std::vector<float>& values) {
  MDNA_CHECK(values.size() % kQ8Block == 0, "Q8_0 quantizes whole blocks of 32 values");
  std::vector<uint8_t> out;
  out.reserve(values.size() / kQ8Block * (2 + kQ8Block));
  for (std::size_t begin = 0; begin < values.size(); begin += kQ8Block) {
    float amax = 0;
    for (int64_t k = 0; k < kQ8Block; ++k) amax = std::max(amax, std::fabs(values[begin + static_cast<std::size_t>(k)]));
    // gguf-py's Q8_0.quantize_blocks, in float32: d = amax / 127,
    // id = 1 / d (0 for d = 0), q = sign(x id) floor(|x id| + 0.5).
    const float d = amax / 127.0f;
    const float id = d == 0.0f ? 0.0f : 1.0f / d;
    const uint16_t half = f32_to_f16(d);
    out.push_back(static_cast<uint8_t>(half & 0xFF));
    out.push_back(static_cast<uint8_t>(half >> 8));
    for (int64_t k = 0; k < kQ8Block; ++k) {
      const float scaled = values[begin + static_cast<std::size_t>(k)] * id;
      const float rounded = std::copysign(std::floor(std::fabs(scaled) + 0.5f), scaled);
      out.push_back(static_cast<uint8_t>(static_cast<int8_t>(rounded)));
    }
  }
  return out;
}

void write_gguf(const std::string& path, const std::vector<std::pair<std::string, GgufValue>>& metadata,
                const std::vector<GgufTensorToWrite>& tensors) {
  std::vector<std::vector<uint8_t>> data;
  for (const auto& t : tensors) {
    int64_t n = 1;
    for (int64_t d : t.shape) n *= d;
    if (t.shape.empty() || n != static_cast<int64_t>(t.values.size()))
      throw UsageError("tensor " + t.name + ": " + std::to_string(t.values.size()) + " values do not fill its shape");
    data.push_back(encoded(t));
  }
  Bytes b;
  b.raw("GGUF", 4);
  b.put<uint32_t>(kGgufVersion);
  b.put<uint64_t>(tensors.size());
  b.put<uint64_t>(metadata.size());
  for (const auto& [key, value] : metadata) {
    b.text(key);
    put_value(b, value);
  }
  uint64_t offset = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = tensors[i];
    b.text(t.name);
    b.put<uint32_t>(static_cast<uint32_t>(t.shape.size()));
    for (auto d = t.shape.rbegin(); d != t.shape.rend(); ++d) b.put<uint64_t>(static_cast<uint64_t>(*d));
    b.put<uint32_t>(ggml_type(t.encoding));
    b.put<uint64_t>(offset);
    offset += (data[i].size() + kAlignment - 1) / kAlignment * kAlignment;
  }
  b.pad();
  for (const auto& bytes : data) {
    b.raw(bytes.data(), bytes.size());
    b.pad();
  }
  write_file_atomically(path, b.take());
}

}  // namespace modeldna::io
