#include "modeldna/io/gguf_writer.h"

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

uint32_t ggml_type(GgufEncoding e) {
  switch (e) {
    case GgufEncoding::F32: return 0;
    case GgufEncoding::F16: return 1;
    case GgufEncoding::Q8_0: return 8;
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
      out.resize(t.values.size() * 2);
      for (std::size_t i = 0; i < t.values.size(); ++i) {
        const uint16_t h = f32_to_f16(t.values[i]);
        std::memcpy(out.data() + 2 * i, &h, 2);
      }
      return out;
    case GgufEncoding::Q8_0:
      if (t.shape.empty() || t.shape.back() % kQ8Block != 0)
        throw UsageError("tensor " + t.name + ": Q8_0 needs rows of whole 32-value blocks");
      return quantize_q8_0(t.values);
  }
  throw InternalError("invalid GgufEncoding");
}

}  // namespace

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
