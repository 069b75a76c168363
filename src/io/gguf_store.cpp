// GGUF v2 and v3 (llama.cpp's format, docs/formats/gguf.md): header, typed
// metadata key/values, tensor infos, aligned data. Dimensions are stored
// innermost first (ne[0] is a row's length); the store lists them outermost
// first, as PyTorch does, which for row-major bytes is the same data.
#include <algorithm>
#include <set>

#include "byte_reader.h"
#include "readers.h"

namespace modeldna::io::detail {
namespace {

constexpr uint64_t kMaxGgufTensors = 1'000'000;
constexpr uint64_t kMaxKeyValues = 1'000'000;
constexpr uint64_t kMaxStringBytes = 64ull << 20;  // a chat template or merges list fits
constexpr uint64_t kMaxArrayItems = 64ull << 20;
constexpr uint32_t kMaxGgufDims = 8;
constexpr uint32_t kDefaultAlignment = 32;

enum ValueType : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7, kString = 8, kArray = 9,
  kU64 = 10, kI64 = 11, kF64 = 12,
};

// ggml_type ids of the types we read; others are named in the error.
std::optional<DType> ggml_dtype(uint32_t id) {
  switch (id) {
    case 0: return DType::F32;
    case 1: return DType::F16;
    case 2: return DType::Q4_0;
    case 3: return DType::Q4_1;
    case 6: return DType::Q5_0;
    case 7: return DType::Q5_1;
    case 8: return DType::Q8_0;
    case 10: return DType::Q2_K;
    case 11: return DType::Q3_K;
    case 12: return DType::Q4_K;
    case 13: return DType::Q5_K;
    case 14: return DType::Q6_K;
    case 15: return DType::Q8_K;
    case 24: return DType::I8;
    case 25: return DType::I16;
    case 26: return DType::I32;
    case 27: return DType::I64;
    case 28: return DType::F64;
    case 30: return DType::BF16;
    default: return std::nullopt;
  }
}

std::string ggml_type_text(uint32_t id) {
  static const char* names[] = {"F32", "F16", "Q4_0", "Q4_1", "Q4_2", "Q4_3", "Q5_0", "Q5_1", "Q8_0", "Q8_1",
                                "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K", "IQ2_XXS", "IQ2_XS", "IQ3_XXS",
                                "IQ1_S", "IQ4_NL", "IQ3_S", "IQ2_S", "IQ4_XS", "I8", "I16", "I32", "I64", "F64",
                                "IQ1_M", "BF16", "Q4_0_4_4", "Q4_0_4_8", "Q4_0_8_8", "TQ1_0", "TQ2_0"};
  if (id < std::size(names)) return std::string(names[id]) + " (ggml type " + std::to_string(id) + ")";
  return "ggml type " + std::to_string(id);
}

std::string read_string(ByteReader& r, std::string_view what) {
  const auto length = r.read<uint64_t>(what);
  if (length > kMaxStringBytes)
    r.fail(std::string(what) + " of " + std::to_string(length) + " bytes exceeds the limit of " + std::to_string(kMaxStringBytes));
  return std::string(r.bytes(length, what));
}

nlohmann::json read_value(ByteReader& r, uint32_t type, const std::string& key, bool in_array) {
  switch (type) {
    case kU8: return r.read<uint8_t>("u8 value");
    case kI8: return r.read<int8_t>("i8 value");
    case kU16: return r.read<uint16_t>("u16 value");
    case kI16: return r.read<int16_t>("i16 value");
    case kU32: return r.read<uint32_t>("u32 value");
    case kI32: return r.read<int32_t>("i32 value");
    case kF32: return r.read<float>("f32 value");
    case kU64: return r.read<uint64_t>("u64 value");
    case kI64: return r.read<int64_t>("i64 value");
    case kF64: return r.read<double>("f64 value");
    case kBool: {
      const auto b = r.read<uint8_t>("bool value");
      if (b > 1) r.fail("key " + quote(key) + ": bool value " + std::to_string(b));
      return b == 1;
    }
    case kString: return sanitize_utf8(read_string(r, "string value"));
    case kArray: {
      if (in_array) r.fail("key " + quote(key) + ": arrays of arrays are not supported");
      const auto item_type = r.read<uint32_t>("array type");
      const auto count = r.read<uint64_t>("array length");
      if (count > kMaxArrayItems)
        r.fail("key " + quote(key) + ": array of " + std::to_string(count) + " items exceeds the limit of " +
               std::to_string(kMaxArrayItems));
      nlohmann::json items = nlohmann::json::array();
      for (uint64_t i = 0; i < count; ++i) items.push_back(read_value(r, item_type, key, true));
      return items;
    }
    default: r.fail("key " + quote(key) + ": unknown value type " + std::to_string(type));
  }
}

}  // namespace

TensorStore read_gguf(std::shared_ptr<const Blob> file) {
  const std::string& path = file->path();
  ByteReader r(path, file->data(), file->size());
  if (r.bytes(4, "magic") != "GGUF") r.fail("not a GGUF file (magic)");
  const auto version = r.read<uint32_t>("version");
  if (version == 0x03000000 || version == 0x02000000) r.fail("big-endian GGUF files are not supported");
  if (version == 1) r.fail("GGUF version 1 (32-bit counts) is not supported; re-convert with a current llama.cpp");
  if (version != 2 && version != 3) r.fail("unsupported GGUF version " + std::to_string(version));
  const auto tensor_count = r.read<uint64_t>("tensor count");
  const auto kv_count = r.read<uint64_t>("metadata count");
  if (tensor_count > kMaxGgufTensors) r.fail(std::to_string(tensor_count) + " tensors exceed the limit of " + std::to_string(kMaxGgufTensors));
  if (kv_count > kMaxKeyValues) r.fail(std::to_string(kv_count) + " metadata entries exceed the limit of " + std::to_string(kMaxKeyValues));

  TensorStore store(Format::GGUF, path);
  store.add_file(path);
  auto& meta = store.mutable_metadata();
  meta["gguf.version"] = version;
  uint64_t alignment = kDefaultAlignment;
  for (uint64_t i = 0; i < kv_count; ++i) {
    const std::string raw_key = read_string(r, "metadata key");
    const std::string key = sanitize_utf8(raw_key);
    if (meta.contains(key)) r.fail("duplicate metadata key " + quote(key));
    const auto type = r.read<uint32_t>("value type");
    meta[key] = read_value(r, type, key, false);
    if (key == "general.alignment") {
      if (type != kU32) r.fail("general.alignment is not a u32");
      alignment = meta[key].get<uint32_t>();
      if (alignment == 0 || (alignment & (alignment - 1)) != 0)
        r.fail("general.alignment " + std::to_string(alignment) + " is not a power of two");
    }
  }

  struct Info {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;  // outermost first
    uint64_t offset, bytes;
  };
  std::vector<Info> infos;
  std::set<std::string> names;
  for (uint64_t i = 0; i < tensor_count; ++i) {
    Info info;
    const std::string raw = read_string(r, "tensor name");
    info.name = sanitize_utf8(raw);
    if (info.name != raw) r.fail("tensor name " + quote(info.name) + " is not valid UTF-8");
    if (!names.insert(info.name).second) r.fail("duplicate tensor name " + quote(info.name));
    const auto dims = r.read<uint32_t>("dimension count");
    if (dims > kMaxGgufDims) r.fail("tensor " + quote(info.name) + " has " + std::to_string(dims) + " dimensions");
    std::vector<uint64_t> ne(dims);
    for (auto& d : ne) {
      d = r.read<uint64_t>("dimension");
      if (d > uint64_t{INT64_MAX}) r.fail("tensor " + quote(info.name) + " dimension " + std::to_string(d) + " too large");
    }
    info.shape.assign(ne.rbegin(), ne.rend());
    const auto type = r.read<uint32_t>("tensor type");
    const auto dtype = ggml_dtype(type);
    if (!dtype) r.fail("tensor " + quote(info.name) + " has unsupported type " + ggml_type_text(type));
    info.dtype = *dtype;
    info.offset = r.read<uint64_t>("tensor offset");
    if (info.offset % alignment) r.fail("tensor " + quote(info.name) + " offset " + std::to_string(info.offset) + " is not aligned to " + std::to_string(alignment));
    const auto numel = checked_numel(info.shape);
    if (!numel) r.fail("tensor " + quote(info.name) + " shape overflows");
    if (!ne.empty() && ne[0] % traits(info.dtype).block_elems)
      r.fail("tensor " + quote(info.name) + " rows of " + std::to_string(ne[0]) + " values are not whole " +
             std::string(dtype_name(info.dtype)) + " blocks");
    const auto bytes = bytes_for(info.dtype, *numel);
    if (!bytes) r.fail("tensor " + quote(info.name) + " size overflows");
    info.bytes = *bytes;
    infos.push_back(std::move(info));
  }
  const uint64_t data_start = (r.position() + alignment - 1) / alignment * alignment;
  if (data_start > file->size()) r.fail("the data section starts past the end of the file");
  const uint64_t data_size = file->size() - data_start;

  // Tensors must lie inside the data section without overlapping.
  std::vector<const Info*> by_offset;
  for (const auto& info : infos) by_offset.push_back(&info);
  std::sort(by_offset.begin(), by_offset.end(), [](const Info* a, const Info* b) { return a->offset < b->offset; });
  uint64_t position = 0;
  for (const Info* info : by_offset) {
    if (info->offset < position) throw FormatError(path, "tensor " + quote(info->name) + " overlaps the tensor before it");
    if (info->offset > data_size || info->bytes > data_size - info->offset)
      throw FormatError(path, "tensor " + quote(info->name) + " data [" + std::to_string(info->offset) + ", +" +
                                  std::to_string(info->bytes) + ") exceeds the " + std::to_string(data_size) +
                                  "-byte data section");
    position = info->offset + info->bytes;
  }

  const uint32_t blob = store.add_blob(file);
  for (auto& info : infos) {
    TensorInfo t;
    t.name = std::move(info.name);
    t.dtype = info.dtype;
    t.shape = std::move(info.shape);
    t.blob = blob;
    t.offset = data_start + info.offset;
    t.size_bytes = info.bytes;
    tag_by_name(t);
    if (t.shape.size() >= 2 && t.role == Role::Weight) t.layout = Layout::OI;
    t.note = "GGUF dims reversed to PyTorch order";
    store.add_tensor(std::move(t));
  }
  return store;
}

}  // namespace modeldna::io::detail
