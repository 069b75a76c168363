#include "modeldna/io/open_store.h"

#include <cctype>
#include <cstring>
#include <filesystem>

#include "byte_reader.h"
#include "modeldna/core/json_file.h"
#include "readers.h"
#include "zip_archive.h"

namespace modeldna::io {
namespace {

namespace fs = std::filesystem;

// How much of a JSON file is read to tell a manifest from other JSON.
constexpr uintmax_t kMaxManifestBytes = 64ull << 20;

enum class Kind {
  Unknown, Safetensors, SafetensorsIndex, PyTorch, GGUF, ONNX, TFLite, TFJS, KerasH5, KerasZip,
};

struct Sniffed {
  Kind kind = Kind::Unknown;
  std::string looks_like;
  std::string file;  // the file to read (a folder's model file)
};

bool starts_with(const std::byte* data, uint64_t size, std::string_view magic, uint64_t at = 0) {
  return size >= at + magic.size() && std::memcmp(data + at, magic.data(), magic.size()) == 0;
}

// A protobuf ModelProto starts with field 1 (ir_version, a varint) in every
// writer we know; the value is a small version number.
bool looks_like_onnx(const std::byte* data, uint64_t size) {
  if (size < 2 || static_cast<uint8_t>(data[0]) != 0x08) return false;
  const auto version = static_cast<uint8_t>(data[1]);
  return version >= 1 && version <= 20;
}

std::string describe_unknown(const std::byte* data, uint64_t size) {
  if (size == 0) return "an empty file";
  if (starts_with(data, size, "\x89PNG")) return "a PNG image";
  if (starts_with(data, size, "\xFF\xD8\xFF")) return "a JPEG image";
  if (starts_with(data, size, "GIF8")) return "a GIF image";
  if (starts_with(data, size, "%PDF")) return "a PDF document";
  if (starts_with(data, size, "\x1F\x8B")) return "gzip-compressed data";
  if (starts_with(data, size, "\x7F" "ELF")) return "an executable (ELF)";
  if (starts_with(data, size, "BZh")) return "bzip2-compressed data";
  if (starts_with(data, size, "\xFD" "7zXZ")) return "xz-compressed data";
  if (starts_with(data, size, "ustar", 257)) return "a tar archive";
  const uint64_t n = std::min<uint64_t>(size, 512);
  bool text = true;
  for (uint64_t i = 0; i < n && text; ++i) {
    const auto c = static_cast<unsigned char>(data[i]);
    text = c == '\n' || c == '\r' || c == '\t' || (c >= 0x20 && c != 0x7F);
  }
  return text ? "a text file" : "binary data of unknown format";
}

Kind json_kind(const std::string& path, std::string* looks_like) {
  const nlohmann::json doc = read_json_file(path, {kMaxManifestBytes, 128});
  if (doc.is_object() && doc.contains("weight_map")) return Kind::SafetensorsIndex;
  if (doc.is_object() && (doc.contains("weightsManifest") || doc.contains("modelTopology"))) return Kind::TFJS;
  if (doc.is_array() && !doc.empty() && doc[0].is_object() && doc[0].contains("paths") && doc[0].contains("weights"))
    return Kind::TFJS;
  *looks_like = "a JSON file that is not a model manifest";
  return Kind::Unknown;
}

Sniffed sniff_bytes(const std::string& path, const std::shared_ptr<const Blob>& blob) {
  const std::byte* d = blob->data();
  const uint64_t n = blob->size();
  Sniffed s;
  s.file = path;
  if (starts_with(d, n, "GGUF")) return s.kind = Kind::GGUF, s;
  if (starts_with(d, n, "\x89HDF\r\n\x1A\n")) return s.kind = Kind::KerasH5, s;
  if (starts_with(d, n, "TFL3", 4)) return s.kind = Kind::TFLite, s;
  if (detail::ZipArchive::looks_like_zip(d, n)) {
    const auto zip = detail::ZipArchive::open(blob);
    for (const auto& e : zip.entries()) {
      const auto slash = e.name.find('/');
      if (slash != std::string::npos && e.name.compare(slash, std::string::npos, "/data.pkl") == 0)
        return s.kind = Kind::PyTorch, s;
    }
    if (zip.find("model.weights.h5") && zip.find("config.json")) return s.kind = Kind::KerasZip, s;
    s.looks_like = "a zip archive that is neither a PyTorch checkpoint nor a .keras model";
    return s;
  }
  if (n >= 9) {
    uint64_t header = 0;
    std::memcpy(&header, d, 8);
    if (header > 0 && header <= n - 8 && static_cast<char>(d[8]) == '{') return s.kind = Kind::Safetensors, s;
  }
  if (starts_with(d, n, "\x80\x02\x8a\x0a")) {
    s.looks_like = "a legacy (pre-1.6, non-zip) PyTorch checkpoint, which is not supported: load it in PyTorch and "
                   "save it again with torch.save";
    return s;
  }
  if (n > 0 && (static_cast<char>(d[0]) == '{' || static_cast<char>(d[0]) == '[' || std::isspace(static_cast<unsigned char>(d[0])))) {
    uint64_t i = 0;
    while (i < n && std::isspace(static_cast<unsigned char>(d[i]))) ++i;
    if (i < n && (static_cast<char>(d[i]) == '{' || static_cast<char>(d[i]) == '[')) {
      s.kind = json_kind(path, &s.looks_like);
      return s;
    }
  }
  if (looks_like_onnx(d, n)) return s.kind = Kind::ONNX, s;
  s.looks_like = describe_unknown(d, n);
  return s;
}

Sniffed sniff_folder(const std::string& path) {
  for (const char* name : {"model.safetensors.index.json", "model.json", "model.safetensors", "pytorch_model.bin",
                           "model.onnx", "model.tflite", "model.keras", "model.h5", "model.gguf"}) {
    const fs::path candidate = fs::path(path) / name;
    if (fs::is_regular_file(candidate)) {
      Sniffed s = sniff_bytes(candidate.string(), map_file(candidate.string()));
      s.file = candidate.string();
      return s;
    }
  }
  Sniffed s;
  s.looks_like = "a folder without a model file (looked for model.safetensors.index.json, model.json, "
                 "model.safetensors, pytorch_model.bin, model.onnx, model.tflite, model.keras, model.h5, model.gguf)";
  return s;
}

std::shared_ptr<const Blob> open_bytes(const std::string& path, const OpenOptions& o) {
  auto blob = map_file(path);
  if (o.offset == 0 && o.length == 0) return blob;
  if (o.offset > blob->size())
    throw FormatError(path, "the offset " + std::to_string(o.offset) + " is past the end of the " +
                                std::to_string(blob->size()) + "-byte file");
  const uint64_t length = o.length ? o.length : blob->size() - o.offset;
  return detail::slice_blob(blob, o.offset, length, path + "@" + std::to_string(o.offset));
}

Sniffed sniff(const std::string& path, const OpenOptions& o, std::shared_ptr<const Blob>* bytes) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    if (o.offset || o.length) throw UsageError("an offset and length apply to a file, not a folder");
    return sniff_folder(path);
  }
  *bytes = open_bytes(path, o);
  return sniff_bytes(path, *bytes);
}

Format format_of(Kind kind) {
  switch (kind) {
    case Kind::Safetensors: case Kind::SafetensorsIndex: return Format::Safetensors;
    case Kind::PyTorch: return Format::PyTorch;
    case Kind::GGUF: return Format::GGUF;
    case Kind::ONNX: return Format::ONNX;
    case Kind::TFLite: return Format::TFLite;
    case Kind::TFJS: return Format::TFJS;
    case Kind::KerasH5: case Kind::KerasZip: return Format::Keras;
    case Kind::Unknown: break;
  }
  throw InternalError("format_of(Unknown)");
}

}  // namespace

Detection detect_format(const std::string& path, const OpenOptions& options) {
  std::shared_ptr<const Blob> bytes;
  const Sniffed s = sniff(path, options, &bytes);
  Detection d;
  if (s.kind != Kind::Unknown) d.format = format_of(s.kind);
  d.looks_like = s.looks_like;
  return d;
}

TensorStore open_store(const std::string& path, const OpenOptions& options) {
  std::shared_ptr<const Blob> bytes;
  const Sniffed s = sniff(path, options, &bytes);
  if (!bytes && s.kind != Kind::Unknown && s.kind != Kind::TFJS && s.kind != Kind::SafetensorsIndex)
    bytes = map_file(s.file);
  const bool sliced = options.offset || options.length;
  if (sliced && s.kind != Kind::TFLite && s.kind != Kind::Unknown)
    throw UsageError("an offset and length are for models embedded in a larger file (TFLite bundles); " + path +
                     " is a " + std::string(format_name(format_of(s.kind))) + " file");
  switch (s.kind) {
    case Kind::Safetensors: return detail::read_safetensors(bytes);
    case Kind::SafetensorsIndex: return detail::read_safetensors_index(s.file);
    case Kind::PyTorch: return detail::read_pytorch(bytes);
    case Kind::GGUF: return detail::read_gguf(bytes);
    case Kind::ONNX: return detail::read_onnx(bytes);
    case Kind::TFLite: return detail::read_tflite(bytes);
    case Kind::TFJS: return detail::read_tfjs(s.file);
    case Kind::KerasH5: return detail::read_keras_h5(bytes);
    case Kind::KerasZip: return detail::read_keras_zip(bytes);
    case Kind::Unknown: break;
  }
  throw FormatError(path, "not a model file modeldna can read (looks like " + s.looks_like + ")");
}

}  // namespace modeldna::io
