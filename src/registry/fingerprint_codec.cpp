// The binary encoding of a fingerprint (docs/spec/fingerprint-v4.md):
//   8 bytes magic "MDNA-FP\0", u32 version, u32 H, H bytes of binary
//   header, u64 tensor hashes,
//   then float16 sketch values (each tensor divided by its largest magnitude,
//   kept as "scale"), then float16 probe logits. Every count comes from the
//   header and is bounded before use; the sizes must add up to the length
//   exactly.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "modeldna/core/error.h"
#include "modeldna/io/dequantize.h"
#include "modeldna/registry/fingerprint.h"

namespace modeldna::registry {
namespace {

constexpr char kMagic[8] = {'M', 'D', 'N', 'A', '-', 'F', 'P', '\0'};
// Versions 1 and 2 ordered the sketch as the file stored its tensors: refused.
constexpr uint32_t kLastStoreOrderVersion = 2;
// Version 3 named llama.cpp's GGUF tensors as stored and sketched their Q and
// K rows in llama.cpp's rotary order: refused.
constexpr uint32_t kLastStoredNamesVersion = 3;
constexpr uint32_t kMaxHeaderBytes = 1u << 20;
constexpr std::size_t kMaxSketchTensors = 1024;
constexpr int64_t kMaxSketchValues = 1 << 16;  // per tensor
constexpr std::size_t kMaxTensorHashes = 1u << 18;
constexpr int64_t kMaxOutputValues = 1 << 20;
constexpr std::size_t kMaxDims = 8;

class Writer {
 public:
  void u8(uint8_t v) { out_ += static_cast<char>(v); }
  void u32(uint32_t v) { little_endian(v, 4); }
  void u64(uint64_t v) { little_endian(v, 8); }
  void i64(int64_t v) { u64(static_cast<uint64_t>(v)); }
  void f64(double v) {
    uint64_t bits;
    std::memcpy(&bits, &v, 8);
    u64(bits);
  }
  void f16(float v) {
    const uint16_t h = io::f32_to_f16(v);
    little_endian(h, 2);
  }
  void str(const std::string& s) {
    u32(static_cast<uint32_t>(s.size()));
    out_ += s;
  }
  void bytes(std::string_view s) { out_ += s; }
  std::string& text() { return out_; }

 private:
  void little_endian(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_ += static_cast<char>((v >> (8 * i)) & 0xff);
  }
  std::string out_;
};

class Reader {
 public:
  Reader(std::string_view bytes, const std::string& what) : bytes_(bytes), what_(what) {}
  void need(std::size_t n, const char* what) const {
    if (n > bytes_.size() - pos_)
      throw FormatError(what_, std::string("fingerprint truncated in ") + what + " (" + std::to_string(bytes_.size()) + " bytes)");
  }
  uint8_t u8(const char* what) { return static_cast<uint8_t>(little_endian(1, what)); }
  uint32_t u32(const char* what) { return static_cast<uint32_t>(little_endian(4, what)); }
  uint64_t u64(const char* what) { return little_endian(8, what); }
  int64_t i64(const char* what) { return static_cast<int64_t>(little_endian(8, what)); }
  double f64(const char* what) {
    const uint64_t bits = little_endian(8, what);
    double v;
    std::memcpy(&v, &bits, 8);
    return v;
  }
  float f16(const char* what) { return io::f16_to_f32(static_cast<uint16_t>(little_endian(2, what))); }
  std::string str(const char* what) {
    const uint32_t n = u32(what);
    return std::string(take(n, what));
  }
  std::string_view take(std::size_t n, const char* what) {
    need(n, what);
    const auto s = bytes_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  std::size_t left() const { return bytes_.size() - pos_; }

 private:
  uint64_t little_endian(int n, const char* what) {
    need(static_cast<std::size_t>(n), what);
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(bytes_[pos_ + i])) << (8 * i);
    pos_ += static_cast<std::size_t>(n);
    return v;
  }
  std::string_view bytes_;
  const std::string& what_;
  std::size_t pos_ = 0;
};

double max_abs(const std::vector<float>& v) {
  double m = 0;
  for (float x : v) m = std::max(m, static_cast<double>(std::abs(x)));
  return m;
}

// A fingerprint's header as decoded: everything but the payload, with what
// the payload's layout needs.
struct Header {
  Fingerprint fingerprint;   // no hashes, sketch values or logits yet
  uint64_t tensor_hashes = 0;
  std::vector<double> scales;  // one per sketch tensor
};

void check_format(Header& h, const std::string& name, const std::string& what) {
  const auto format = io::parse_format(name);
  if (!format) throw FormatError(what, "fingerprint names an unknown format");
  h.fingerprint.format = *format;
}

void check_tensor_hashes(uint64_t n, const std::string& what) {
  if (n > kMaxTensorHashes) throw FormatError(what, "fingerprint lists " + std::to_string(n) + " tensor hashes");
}

void check_sketch_tensor(const compare::TensorSketch& s, double scale, const std::string& what) {
  if (s.units < 1 || s.inputs < 1 || s.units > kMaxSketchValues || s.inputs > kMaxSketchValues ||
      s.units * s.inputs > kMaxSketchValues || s.dims.empty() || s.dims.size() > kMaxDims || !std::isfinite(scale) || scale < 0)
    throw FormatError(what, "fingerprint sketch tensor '" + s.name + "' has an invalid size or scale");
  int64_t inputs = 1;
  for (std::size_t k = 1; k < s.dims.size(); ++k) {
    if (s.dims[k] < 1 || s.dims[k] > (int64_t{1} << 40) / inputs) throw FormatError(what, "fingerprint sketch dims out of range");
    inputs *= s.dims[k];
  }
  if (s.dims[0] < s.units || inputs < s.inputs) throw FormatError(what, "fingerprint sketch samples more than its dims hold");
}

void check_outputs(const ProbeOutputs& o, const std::string& what) {
  if (o.probes < 1 || o.classes < 1 || o.probes > kMaxOutputValues || o.classes > kMaxOutputValues / o.probes / 3)
    throw FormatError(what, "fingerprint outputs have an invalid size");
}

// The header, field by field in the order of write_binary_header().
Header read_binary_header(std::string_view bytes, const std::string& what) {
  Reader in(bytes, what);
  Header h;
  auto& f = h.fingerprint;
  f.path = in.str("the path");
  f.content_hash = in.str("the content hash");
  check_format(h, in.str("the format"), what);
  f.tensors = in.i64("the tensor count");
  f.parameters = in.i64("the parameter count");
  f.bytes = in.i64("the byte count");
  f.architecture = in.str("the architecture");
  f.shape_signature = in.str("the shape signature");
  f.tensors_hash = in.str("the tensors hash");
  h.tensor_hashes = in.u64("the tensor hash count");
  check_tensor_hashes(h.tensor_hashes, what);
  f.sketch.seed = in.u64("the sketch seed");
  f.sketch.candidates = in.i64("the candidate count");
  const uint32_t n_tensors = in.u32("the sketch tensor count");
  if (n_tensors > kMaxSketchTensors) throw FormatError(what, "fingerprint sketch tensors missing or too many");
  for (uint32_t k = 0; k < n_tensors; ++k) {
    compare::TensorSketch s;
    s.name = in.str("a sketch tensor's name");
    const uint32_t n_dims = in.u32("a sketch tensor's rank");
    if (n_dims == 0 || n_dims > kMaxDims)
      throw FormatError(what, "fingerprint sketch tensor '" + s.name + "' has an invalid size or scale");
    for (uint32_t d = 0; d < n_dims; ++d) s.dims.push_back(in.i64("a sketch tensor's dims"));
    s.order = in.i64("a sketch tensor's order");
    s.units = in.i64("a sketch tensor's units");
    s.inputs = in.i64("a sketch tensor's inputs");
    const double scale = in.f64("a sketch tensor's scale");
    s.stddev = in.f64("a sketch tensor's statistics");
    s.kurtosis = in.f64("a sketch tensor's statistics");
    s.zero_fraction = in.f64("a sketch tensor's statistics");
    s.distinct_sampled = in.i64("a sketch tensor's statistics");
    const uint8_t lossy = in.u8("a sketch tensor's statistics");
    if (lossy > 1) throw FormatError(what, "fingerprint sketch tensor '" + s.name + "' has an invalid 'lossy' flag");
    s.lossy = lossy == 1;
    s.mantissa_bits = in.u8("a sketch tensor's statistics");
    if (s.mantissa_bits > 24)
      throw FormatError(what, "fingerprint sketch tensor '" + s.name + "' claims " + std::to_string(s.mantissa_bits) +
                                  " mantissa bits, more than float32's 24");
    check_sketch_tensor(s, scale, what);
    h.scales.push_back(scale);
    f.sketch.tensors.push_back(std::move(s));
  }
  const uint8_t has_outputs = in.u8("the outputs flag");
  if (has_outputs > 1) throw FormatError(what, "fingerprint has an invalid outputs flag");
  if (has_outputs) {
    ProbeOutputs o;
    o.input_kind = in.str("the outputs' input kind");
    o.probes = in.i64("the outputs' probe count");
    o.classes = in.i64("the outputs' class count");
    check_outputs(o, what);
    f.outputs = std::move(o);
  }
  if (in.left() != 0) throw FormatError(what, "fingerprint header has " + std::to_string(in.left()) + " bytes after its last field");
  f.version = kFingerprintVersion;
  return h;
}

void write_binary_header(Writer& out, const Fingerprint& f, const std::vector<double>& scales) {
  out.str(f.path);
  out.str(f.content_hash);
  out.str(std::string(io::format_name(f.format)));
  out.i64(f.tensors);
  out.i64(f.parameters);
  out.i64(f.bytes);
  out.str(f.architecture);
  out.str(f.shape_signature);
  out.str(f.tensors_hash);
  out.u64(f.tensor_hashes.size());
  out.u64(f.sketch.seed);
  out.i64(f.sketch.candidates);
  out.u32(static_cast<uint32_t>(f.sketch.tensors.size()));
  for (std::size_t k = 0; k < f.sketch.tensors.size(); ++k) {
    const auto& t = f.sketch.tensors[k];
    out.str(t.name);
    out.u32(static_cast<uint32_t>(t.dims.size()));
    for (int64_t d : t.dims) out.i64(d);
    out.i64(t.order);
    out.i64(t.units);
    out.i64(t.inputs);
    out.f64(scales[k]);
    out.f64(t.stddev);
    out.f64(t.kurtosis);
    out.f64(t.zero_fraction);
    out.i64(t.distinct_sampled);
    out.u8(t.lossy ? 1 : 0);
    out.u8(static_cast<uint8_t>(t.mantissa_bits));
  }
  out.u8(f.outputs ? 1 : 0);
  if (f.outputs) {
    out.str(f.outputs->input_kind);
    out.i64(f.outputs->probes);
    out.i64(f.outputs->classes);
  }
}

// The summary of `registry show --json`.
nlohmann::json header_json(const Fingerprint& f) {
  nlohmann::json tensors = nlohmann::json::array();
  for (const auto& t : f.sketch.tensors)
    tensors.push_back({{"name", t.name},
                       {"dims", t.dims},
                       {"order", t.order},
                       {"units", t.units},
                       {"inputs", t.inputs},
                       {"scale", max_abs(t.values())},
                       {"stddev", t.stddev},
                       {"kurtosis", t.kurtosis},
                       {"zero_fraction", t.zero_fraction},
                       {"distinct_sampled", t.distinct_sampled},
                       {"lossy", t.lossy},
                       {"mantissa_bits", t.mantissa_bits}});
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
  std::vector<double> scales;
  for (const auto& t : f.sketch.tensors) scales.push_back(max_abs(t.values()));
  Writer header;
  write_binary_header(header, f, scales);
  Writer out;
  out.bytes(std::string_view(kMagic, sizeof kMagic));
  out.u32(kFingerprintVersion);
  out.u32(static_cast<uint32_t>(header.text().size()));
  out.bytes(header.text());
  for (uint64_t h : f.tensor_hashes) out.u64(h);
  for (std::size_t k = 0; k < f.sketch.tensors.size(); ++k)
    for (float v : f.sketch.tensors[k].values()) out.f16(scales[k] > 0 ? static_cast<float>(v / scales[k]) : 0.0f);
  if (f.outputs)
    for (float v : f.outputs->logits) out.f16(v);
  return std::move(out.text());
}

Fingerprint decode(std::string_view bytes, const std::string& what) {
  if (bytes.size() > kMaxFingerprintBytes)
    throw FormatError(what, "fingerprint of " + std::to_string(bytes.size()) + " bytes, more than the " +
                                std::to_string(kMaxFingerprintBytes) + "-byte limit");
  Reader in(bytes, what);
  if (in.take(sizeof kMagic, "the magic") != std::string_view(kMagic, sizeof kMagic))
    throw FormatError(what, "not a modeldna fingerprint (bad magic)");
  const uint32_t version = in.u32("the version");
  if (version >= 1 && version <= kLastStoreOrderVersion)
    throw FormatError(what, "fingerprint version " + std::to_string(version) +
                                " sketched the layers in the file's order; this build pairs them by their place in the "
                                "model (version " + std::to_string(kFingerprintVersion) +
                                "): remove the model and add its file again (modeldna registry remove ID; modeldna "
                                "registry add FILE)");
  if (version == kLastStoredNamesVersion)
    throw FormatError(what, "fingerprint version 3 sketched llama.cpp's GGUF tensors under their stored names and row "
                            "order; this build sketches them as Hugging Face names and orders them (version " +
                                std::to_string(kFingerprintVersion) +
                                "): remove the model and add its file again (modeldna registry remove ID; modeldna "
                                "registry add FILE)");
  if (version != kFingerprintVersion)
    throw FormatError(what, "fingerprint version " + std::to_string(version) + ", this build reads version " +
                                std::to_string(kFingerprintVersion));
  const uint32_t header_bytes = in.u32("the header length");
  if (header_bytes > kMaxHeaderBytes) throw FormatError(what, "fingerprint header of " + std::to_string(header_bytes) + " bytes");
  const auto header_text = in.take(header_bytes, "the header");
  auto header = read_binary_header(header_text, what);
  auto& f = header.fingerprint;
  f.sketch.shape_signature = f.shape_signature;
  // The payload's size follows from the header: check it before reading.
  uint64_t expected = header.tensor_hashes * 8;
  for (const auto& s : f.sketch.tensors) expected += static_cast<uint64_t>(s.units * s.inputs) * 2;
  if (f.outputs) expected += static_cast<uint64_t>(3 * f.outputs->probes * f.outputs->classes) * 2;
  if (expected != in.left())
    throw FormatError(what, "fingerprint payload is " + std::to_string(in.left()) + " bytes, its header says " + std::to_string(expected));
  f.tensor_hashes.reserve(header.tensor_hashes);
  for (uint64_t i = 0; i < header.tensor_hashes; ++i) f.tensor_hashes.push_back(in.u64("the tensor hashes"));
  for (std::size_t k = 0; k < f.sketch.tensors.size(); ++k) {
    auto& s = f.sketch.tensors[k];
    std::vector<float> values(static_cast<std::size_t>(s.units * s.inputs));
    const auto* half = reinterpret_cast<const unsigned char*>(in.take(2 * values.size(), "the sketch values").data());
    bool finite = true;
    for (std::size_t i = 0; i < values.size(); ++i) {
      const float v = io::f16_to_f32(static_cast<uint16_t>(half[2 * i] | (half[2 * i + 1] << 8)));
      values[i] = static_cast<float>(v * header.scales[k]);
      finite = finite && std::isfinite(values[i]);
    }
    if (!finite) throw FormatError(what, "fingerprint sketch of '" + s.name + "' holds a non-finite value");
    s.set_values(std::move(values));
  }
  if (f.outputs) {
    f.outputs->logits.resize(static_cast<std::size_t>(3 * f.outputs->probes * f.outputs->classes));
    for (float& v : f.outputs->logits) v = in.f16("the probe outputs");
  }
  return std::move(header.fingerprint);
}

nlohmann::json to_json(const Fingerprint& f) {
  auto j = header_json(f);
  j["version"] = f.version;
  j["encoded_bytes"] = encode(f).size();
  return j;
}

}  // namespace modeldna::registry
