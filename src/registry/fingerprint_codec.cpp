// The binary encoding of a fingerprint (docs/spec/fingerprint-v1.md):
//   8 bytes magic "MDNA-FP\0", u32 version, u32 H, H bytes of JSON header,
//   u64 tensor hashes, then float16 sketch values (each tensor divided by its
//   largest magnitude, kept as "scale"), then float16 probe logits. Every
//   count comes from the header and is bounded before use; the sizes must
//   add up to the length exactly.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "modeldna/core/error.h"
#include "modeldna/core/json_file.h"
#include "modeldna/io/dequantize.h"
#include "modeldna/registry/fingerprint.h"

namespace modeldna::registry {
namespace {

constexpr char kMagic[8] = {'M', 'D', 'N', 'A', '-', 'F', 'P', '\0'};
constexpr uint32_t kMaxHeaderBytes = 1u << 20;
constexpr std::size_t kMaxSketchTensors = 1024;
constexpr int64_t kMaxSketchValues = 1 << 16;  // per tensor
constexpr std::size_t kMaxTensorHashes = 1u << 18;
constexpr int64_t kMaxOutputValues = 1 << 20;

void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

void put_f16(std::string& out, float v) {
  const uint16_t h = io::f32_to_f16(v);
  out += static_cast<char>(h & 0xff);
  out += static_cast<char>(h >> 8);
}

class Reader {
 public:
  Reader(std::string_view bytes, const std::string& what) : bytes_(bytes), what_(what) {}
  void need(std::size_t n, const char* what) const {
    if (n > bytes_.size() - pos_)
      throw FormatError(what_, std::string("fingerprint truncated in ") + what + " (" + std::to_string(bytes_.size()) + " bytes)");
  }
  uint32_t u32(const char* what) {
    need(4, what);
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<unsigned char>(bytes_[pos_ + i])) << (8 * i);
    pos_ += 4;
    return v;
  }
  uint64_t u64(const char* what) {
    need(8, what);
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(bytes_[pos_ + i])) << (8 * i);
    pos_ += 8;
    return v;
  }
  float f16(const char* what) {
    need(2, what);
    const uint16_t h = static_cast<uint16_t>(static_cast<unsigned char>(bytes_[pos_]) |
                                             (static_cast<unsigned char>(bytes_[pos_ + 1]) << 8));
    pos_ += 2;
    return io::f16_to_f32(h);
  }
  std::string_view take(std::size_t n, const char* what) {
    need(n, what);
    const auto s = bytes_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  std::size_t left() const { return bytes_.size() - pos_; }

 private:
  std::string_view bytes_;
  const std::string& what_;
  std::size_t pos_ = 0;
};

// A header field of the expected JSON type, or FormatError naming it.
template <typename T>
T field(const nlohmann::json& j, const char* key, const std::string& what) {
  const auto it = j.find(key);
  if (it == j.end()) throw FormatError(what, std::string("fingerprint header lacks '") + key + "'");
  try {
    return it->get<T>();
  } catch (const nlohmann::json::exception&) {
    throw FormatError(what, std::string("fingerprint header field '") + key + "' has the wrong type");
  }
}

double max_abs(const std::vector<float>& v) {
  double m = 0;
  for (float x : v) m = std::max(m, static_cast<double>(std::abs(x)));
  return m;
}

// The header of the encoding, which is also `registry show --json`.
nlohmann::json header_json(const Fingerprint& f) {
  nlohmann::json tensors = nlohmann::json::array();
  for (const auto& t : f.sketch.tensors)
    tensors.push_back({{"name", t.name},
                       {"dims", t.dims},
                       {"order", t.order},
                       {"units", t.units},
                       {"inputs", t.inputs},
                       {"scale", max_abs(t.values)},
                       {"stddev", t.stddev},
                       {"kurtosis", t.kurtosis},
                       {"zero_fraction", t.zero_fraction},
                       {"distinct_sampled", t.distinct_sampled},
                       {"lossy", t.lossy}});
  nlohmann::json header = {{"path", f.path},
                           {"content_hash", f.content_hash},
                           {"format", io::format_name(f.format)},
                           {"tensors", f.tensors},
                           {"parameters", f.parameters},
                           {"bytes", f.bytes},
                           {"architecture", f.architecture},
                           {"shape_signature", f.shape_signature},
                           {"tensors_hash", f.tensors_hash},
                           {"tensor_hashes", f.tensor_hashes.size()},
                           {"sketch", {{"seed", f.sketch.seed}, {"candidates", f.sketch.candidates}, {"tensors", tensors}}}};
  header["outputs"] = f.outputs ? nlohmann::json{{"input_kind", f.outputs->input_kind},
                                                 {"probes", f.outputs->probes},
                                                 {"classes", f.outputs->classes}}
                                : nlohmann::json(nullptr);
  return header;
}

}  // namespace

std::string encode(const Fingerprint& f) {
  const auto header = header_json(f);
  std::vector<double> scales;
  for (const auto& t : header["sketch"]["tensors"]) scales.push_back(t["scale"].get<double>());
  const std::string text = header.dump();
  std::string out(kMagic, sizeof kMagic);
  put_u32(out, f.version);
  put_u32(out, static_cast<uint32_t>(text.size()));
  out += text;
  for (uint64_t h : f.tensor_hashes)
    for (int i = 0; i < 8; ++i) out += static_cast<char>((h >> (8 * i)) & 0xff);
  for (std::size_t k = 0; k < f.sketch.tensors.size(); ++k)
    for (float v : f.sketch.tensors[k].values) put_f16(out, scales[k] > 0 ? static_cast<float>(v / scales[k]) : 0.0f);
  if (f.outputs)
    for (float v : f.outputs->logits) put_f16(out, v);
  return out;
}

Fingerprint decode(std::string_view bytes, const std::string& what) {
  if (bytes.size() > kMaxFingerprintBytes)
    throw FormatError(what, "fingerprint of " + std::to_string(bytes.size()) + " bytes, more than the " +
                                std::to_string(kMaxFingerprintBytes) + "-byte limit");
  Reader in(bytes, what);
  if (in.take(sizeof kMagic, "the magic") != std::string_view(kMagic, sizeof kMagic))
    throw FormatError(what, "not a modeldna fingerprint (bad magic)");
  Fingerprint f;
  f.version = in.u32("the version");
  if (f.version != kFingerprintVersion)
    throw FormatError(what, "fingerprint version " + std::to_string(f.version) + ", this build reads version " +
                                std::to_string(kFingerprintVersion));
  const uint32_t header_bytes = in.u32("the header length");
  if (header_bytes > kMaxHeaderBytes) throw FormatError(what, "fingerprint header of " + std::to_string(header_bytes) + " bytes");
  JsonLimits limits;
  limits.max_bytes = kMaxHeaderBytes;
  limits.max_depth = 8;
  const auto header = parse_json(what, in.take(header_bytes, "the header"), limits);
  if (!header.is_object()) throw FormatError(what, "fingerprint header is not an object");
  f.path = field<std::string>(header, "path", what);
  f.content_hash = field<std::string>(header, "content_hash", what);
  const auto format = io::parse_format(field<std::string>(header, "format", what));
  if (!format) throw FormatError(what, "fingerprint names an unknown format");
  f.format = *format;
  f.tensors = field<int64_t>(header, "tensors", what);
  f.parameters = field<int64_t>(header, "parameters", what);
  f.bytes = field<int64_t>(header, "bytes", what);
  f.architecture = field<std::string>(header, "architecture", what);
  f.shape_signature = field<std::string>(header, "shape_signature", what);
  f.tensors_hash = field<std::string>(header, "tensors_hash", what);
  const auto n_hashes = field<uint64_t>(header, "tensor_hashes", what);
  if (n_hashes > kMaxTensorHashes) throw FormatError(what, "fingerprint lists " + std::to_string(n_hashes) + " tensor hashes");
  const auto sketch = header.find("sketch");
  if (sketch == header.end() || !sketch->is_object()) throw FormatError(what, "fingerprint header lacks 'sketch'");
  f.sketch.seed = field<uint64_t>(*sketch, "seed", what);
  f.sketch.candidates = field<int64_t>(*sketch, "candidates", what);
  f.sketch.shape_signature = f.shape_signature;
  const auto tensors = sketch->find("tensors");
  if (tensors == sketch->end() || !tensors->is_array() || tensors->size() > kMaxSketchTensors)
    throw FormatError(what, "fingerprint sketch tensors missing or too many");
  std::vector<double> scales;
  for (const auto& t : *tensors) {
    if (!t.is_object()) throw FormatError(what, "fingerprint sketch tensor is not an object");
    compare::TensorSketch s;
    s.name = field<std::string>(t, "name", what);
    s.dims = field<std::vector<int64_t>>(t, "dims", what);
    s.order = field<int64_t>(t, "order", what);
    s.units = field<int64_t>(t, "units", what);
    s.inputs = field<int64_t>(t, "inputs", what);
    s.stddev = field<double>(t, "stddev", what);
    s.kurtosis = field<double>(t, "kurtosis", what);
    s.zero_fraction = field<double>(t, "zero_fraction", what);
    s.distinct_sampled = field<int64_t>(t, "distinct_sampled", what);
    s.lossy = field<bool>(t, "lossy", what);
    const double scale = field<double>(t, "scale", what);
    if (s.units < 1 || s.inputs < 1 || s.units > kMaxSketchValues || s.inputs > kMaxSketchValues ||
        s.units * s.inputs > kMaxSketchValues || s.dims.empty() || s.dims.size() > 8 || !std::isfinite(scale) || scale < 0)
      throw FormatError(what, "fingerprint sketch tensor '" + s.name + "' has an invalid size or scale");
    int64_t inputs = 1;
    for (std::size_t k = 1; k < s.dims.size(); ++k) {
      if (s.dims[k] < 1 || s.dims[k] > (int64_t{1} << 40) / inputs) throw FormatError(what, "fingerprint sketch dims out of range");
      inputs *= s.dims[k];
    }
    if (s.dims[0] < s.units || inputs < s.inputs) throw FormatError(what, "fingerprint sketch samples more than its dims hold");
    scales.push_back(scale);
    f.sketch.tensors.push_back(std::move(s));
  }
  const auto outputs = header.find("outputs");
  if (outputs != header.end() && !outputs->is_null()) {
    ProbeOutputs o;
    o.input_kind = field<std::string>(*outputs, "input_kind", what);
    o.probes = field<int64_t>(*outputs, "probes", what);
    o.classes = field<int64_t>(*outputs, "classes", what);
    if (o.probes < 1 || o.classes < 1 || o.probes > kMaxOutputValues || o.classes > kMaxOutputValues / o.probes / 3)
      throw FormatError(what, "fingerprint outputs have an invalid size");
    f.outputs = std::move(o);
  }
  // The payload's size follows from the header: check it before reading.
  uint64_t expected = n_hashes * 8;
  for (const auto& s : f.sketch.tensors) expected += static_cast<uint64_t>(s.units * s.inputs) * 2;
  if (f.outputs) expected += static_cast<uint64_t>(3 * f.outputs->probes * f.outputs->classes) * 2;
  if (expected != in.left())
    throw FormatError(what, "fingerprint payload is " + std::to_string(in.left()) + " bytes, its header says " + std::to_string(expected));
  for (uint64_t i = 0; i < n_hashes; ++i) f.tensor_hashes.push_back(in.u64("the tensor hashes"));
  for (std::size_t k = 0; k < f.sketch.tensors.size(); ++k) {
    auto& s = f.sketch.tensors[k];
    s.values.resize(static_cast<std::size_t>(s.units * s.inputs));
    for (float& v : s.values) {
      v = static_cast<float>(in.f16("the sketch values") * scales[k]);
      if (!std::isfinite(v)) throw FormatError(what, "fingerprint sketch of '" + s.name + "' holds a non-finite value");
    }
  }
  compare::prepare(f.sketch);
  if (f.outputs) {
    f.outputs->logits.resize(static_cast<std::size_t>(3 * f.outputs->probes * f.outputs->classes));
    for (float& v : f.outputs->logits) v = in.f16("the probe outputs");
  }
  return f;
}

nlohmann::json to_json(const Fingerprint& f) {
  auto j = header_json(f);
  j["version"] = f.version;
  j["encoded_bytes"] = encode(f).size();
  return j;
}

}  // namespace modeldna::registry
