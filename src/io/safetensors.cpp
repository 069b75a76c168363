#include "modeldna/io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <ostream>
#include <set>
#include <utility>

#include "byte_reader.h"
#include "modeldna/core/error.h"
#include "modeldna/core/json_file.h"
#include "modeldna/io/tensor_store.h"

namespace modeldna::io {

// Views hand out tensor bytes exactly as they lie in the file (little-endian)
// and the writer copies memory as is: both need a little-endian host.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "modeldna assumes a little-endian host");

namespace {

using nlohmann::json;

using detail::quote;

bool mul_overflows(uint64_t a, uint64_t b, uint64_t* out) { return __builtin_mul_overflow(a, b, out); }

constexpr auto kInt64Max = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

// One validated header entry.
struct Entry {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t begin = 0;
  uint64_t end = 0;
};

std::string offsets_text(const Entry& e) {
  return "data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "]";
}

[[noreturn]] void fail(const std::string& path, const std::string& tensor, const std::string& problem) {
  throw FormatError(path, "tensor " + quote(tensor) + ": " + problem);
}

// Parses the header, refusing duplicate keys (nlohmann would silently keep the
// last one) and nesting deeper than a valid header ever needs, which also
// bounds what a hostile header can make us build.
json parse_header(const std::string& path, const char* begin, const char* end) {
  std::vector<std::set<std::string>> keys;  // one set per open object
  auto check = [&](int depth, json::parse_event_t event, json& parsed) {
    using Event = json::parse_event_t;
    // Top object (0) > tensor entry or __metadata__ (1) > shape array (2).
    if ((event == Event::object_start || event == Event::array_start) && depth >= 3)
      throw FormatError(path, "JSON header nests deeper than a safetensors header");
    if (event == Event::object_start) keys.emplace_back();
    if (event == Event::object_end) keys.pop_back();
    if (event == Event::key && !keys.back().insert(parsed.get_ref<const std::string&>()).second) {
      const std::string& key = parsed.get_ref<const std::string&>();
      const bool tensor = keys.size() == 1 && key != "__metadata__";
      throw FormatError(path, (tensor ? "duplicate tensor name " : "duplicate JSON key ") + quote(key));
    }
    return true;
  };
  try {
    return json::parse(begin, end, check);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for numbers too large
    throw FormatError(path, std::string("invalid JSON header: ") + e.what());
  }
}

Entry parse_entry(const std::string& path, const std::string& name, const json& entry, uint64_t buffer_size) {
  if (!entry.is_object()) fail(path, name, "entry is not a JSON object");
  for (const auto& item : entry.items()) {
    const std::string& key = item.key();
    if (key != "dtype" && key != "shape" && key != "data_offsets") fail(path, name, "unexpected key " + quote(key));
  }
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!entry.contains(key)) fail(path, name, std::string("missing '") + key + "'");

  Entry out;
  out.name = name;
  const json& dtype = entry["dtype"];
  if (!dtype.is_string()) fail(path, name, "dtype is not a string");
  const auto parsed = parse_safetensors_dtype(dtype.get_ref<const std::string&>());
  if (!parsed) fail(path, name, "unknown dtype " + quote(dtype.get_ref<const std::string&>()));
  out.dtype = *parsed;

  const json& shape = entry["shape"];
  if (!shape.is_array()) fail(path, name, "shape is not an array");
  uint64_t numel = 1;
  for (const json& dim : shape) {
    if (!dim.is_number_integer()) fail(path, name, "shape entry " + dim.dump() + " is not an integer");
    if (!dim.is_number_unsigned() && dim.get<int64_t>() < 0) fail(path, name, "negative shape entry " + dim.dump());
    const uint64_t value = dim.is_number_unsigned() ? dim.get<uint64_t>() : 0;  // else "-0"
    if (value > kInt64Max || mul_overflows(numel, value, &numel))
      fail(path, name, "shape " + shape.dump() + " overflows the element count");
    out.shape.push_back(static_cast<int64_t>(value));
  }
  uint64_t bytes = 0;
  if (numel > kInt64Max || mul_overflows(numel, dtype_size(out.dtype), &bytes))
    fail(path, name, "shape " + shape.dump() + " overflows the element count");

  const json& offsets = entry["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned())
    fail(path, name, "data_offsets " + offsets.dump() + " is not a pair of unsigned integers");
  out.begin = offsets[0].get<uint64_t>();
  out.end = offsets[1].get<uint64_t>();
  const std::string range = offsets_text(out);
  if (out.begin > out.end) fail(path, name, range + " end before they begin");
  if (out.end > buffer_size)
    fail(path, name, range + " exceed the data buffer (" + std::to_string(buffer_size) + " bytes)");
  if (out.end - out.begin != bytes)
    fail(path, name,
         range + " hold " + std::to_string(out.end - out.begin) + " bytes but " + std::string(dtype_name(out.dtype)) +
             " shape " + shape.dump() + " needs " + std::to_string(bytes));
  return out;
}

std::map<std::string, std::string> parse_metadata(const std::string& path, const json& metadata) {
  if (!metadata.is_object()) throw FormatError(path, "__metadata__ is not a JSON object");
  std::map<std::string, std::string> out;
  for (const auto& item : metadata.items()) {
    if (!item.value().is_string())
      throw FormatError(path, "__metadata__ value for key " + quote(item.key()) + " is not a string");
    out.emplace(item.key(), item.value().get<std::string>());
  }
  return out;
}

// Like the reference implementation: sorted by offset, tensors must tile the
// data buffer exactly, with no overlap, no hole and no trailing bytes.
void check_layout(const std::string& path, std::vector<Entry>& entries, uint64_t buffer_size) {
  // Stable: tensors sharing an offset (zero-size ones) stay in name order.
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return std::pair(a.begin, a.end) < std::pair(b.begin, b.end);
  });
  uint64_t position = 0;
  const Entry* previous = nullptr;
  for (const Entry& e : entries) {
    const std::string range = offsets_text(e);
    if (e.begin < position) fail(path, e.name, range + " overlap tensor " + quote(previous->name));
    if (e.begin > position)
      fail(path, e.name,
           range + " leave a hole of " + std::to_string(e.begin - position) + " bytes " +
               (previous ? "after tensor " + quote(previous->name) : std::string("at the start of the data")));
    position = e.end;
    previous = &e;
  }
  if (position != buffer_size)
    throw FormatError(path, std::to_string(buffer_size - position) + " bytes at the end of the data buffer " +
                                "belong to no tensor");
}

}  // namespace

std::optional<DType> parse_safetensors_dtype(std::string_view name) {
  const auto dtype = parse_dtype(name);
  if (!dtype || is_block(*dtype)) return std::nullopt;
  return dtype;
}

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (int64_t dim : shape) n *= dim;  // validated against overflow on open
  return n;
}

struct SafetensorsFile::Impl {
  std::string path;
  std::shared_ptr<const Blob> blob;
  std::map<std::string, std::string> metadata;
  std::vector<TensorView> tensors;
  std::map<std::string, std::size_t, std::less<>> index;  // name -> position in tensors
};

SafetensorsFile SafetensorsFile::open(const std::string& path) { return open(map_file(path)); }

SafetensorsFile SafetensorsFile::open(std::shared_ptr<const Blob> blob) {
  auto impl = std::make_unique<Impl>();
  impl->path = blob->path();
  impl->blob = std::move(blob);
  const std::string& path = impl->path;
  const uint64_t file_size = impl->blob->size();
  if (file_size < 8)
    throw FormatError(path, "file too short: " + std::to_string(file_size) + " bytes, less than the 8-byte header length");
  const auto* base = reinterpret_cast<const unsigned char*>(impl->blob->data());

  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | base[i];
  // Both checks come before the header is touched or anything is allocated.
  if (header_size > kMaxHeaderBytes)
    throw FormatError(path, "header length " + std::to_string(header_size) + " exceeds the limit of " +
                                std::to_string(kMaxHeaderBytes) + " bytes");
  if (header_size > file_size - 8)
    throw FormatError(path, "header length " + std::to_string(header_size) + " exceeds file size " +
                                std::to_string(file_size) + " minus the 8-byte length");
  const uint64_t data_start = 8 + header_size;
  const uint64_t buffer_size = file_size - data_start;

  const auto* header_begin = reinterpret_cast<const char*>(base + 8);
  // nlohmann's lexer takes a NUL byte for the end of input and would ignore
  // whatever follows it; JSON never contains a raw NUL.
  if (std::memchr(header_begin, 0, header_size))
    throw FormatError(path, "invalid JSON header: it contains a NUL byte");
  const json header = parse_header(path, header_begin, header_begin + header_size);
  if (!header.is_object()) throw FormatError(path, "JSON header is not an object");

  std::vector<Entry> entries;
  for (const auto& item : header.items()) {
    if (item.key() == "__metadata__")
      impl->metadata = parse_metadata(path, item.value());
    else
      entries.push_back(parse_entry(path, item.key(), item.value(), buffer_size));
  }
  check_layout(path, entries, buffer_size);

  const auto* data = reinterpret_cast<const std::byte*>(base + data_start);
  impl->tensors.reserve(entries.size());
  for (Entry& e : entries) {
    impl->index.emplace(e.name, impl->tensors.size());
    impl->tensors.push_back(
        TensorView{std::move(e.name), e.dtype, std::move(e.shape), data + e.begin, e.end - e.begin});
  }
  return SafetensorsFile(std::move(impl));
}

SafetensorsFile::SafetensorsFile(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SafetensorsFile::SafetensorsFile(SafetensorsFile&&) noexcept = default;
SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&&) noexcept = default;
SafetensorsFile::~SafetensorsFile() = default;

const std::string& SafetensorsFile::path() const { return impl_->path; }
const std::map<std::string, std::string>& SafetensorsFile::metadata() const { return impl_->metadata; }
const std::vector<TensorView>& SafetensorsFile::tensors() const { return impl_->tensors; }
const std::shared_ptr<const Blob>& SafetensorsFile::blob() const { return impl_->blob; }

const TensorView* SafetensorsFile::find(std::string_view name) const {
  const auto it = impl_->index.find(name);
  return it == impl_->index.end() ? nullptr : &impl_->tensors[it->second];
}

const TensorView& SafetensorsFile::at(std::string_view name) const {
  const TensorView* view = find(name);
  if (!view) throw FormatError(impl_->path, "no tensor named " + quote(name));
  return *view;
}

void write_safetensors_streaming(const std::string& path, const std::vector<TensorToStream>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  // ordered_json keeps entries in the caller's order, matching the data layout.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::set<std::string_view> names;
  std::vector<uint64_t> sizes;
  uint64_t offset = 0;
  for (const TensorToStream& t : tensors) {
    const std::string what = "write_safetensors: tensor " + quote(t.name) + ": ";
    MDNA_CHECK(t.name != "__metadata__", what + "name is reserved");
    MDNA_CHECK(names.insert(t.name).second, what + "duplicate name");
    MDNA_CHECK(!is_block(t.dtype), what + "safetensors cannot store " + std::string(dtype_name(t.dtype)));
    uint64_t bytes = dtype_size(t.dtype);
    for (int64_t dim : t.shape) {
      MDNA_CHECK(dim >= 0, what + "negative dimension " + std::to_string(dim));
      MDNA_CHECK(!mul_overflows(bytes, static_cast<uint64_t>(dim), &bytes), what + "shape overflows");
    }
    header[t.name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    sizes.push_back(bytes);
    offset += bytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::type_error&) {
    throw UsageError("write_safetensors: tensor names and metadata must be valid UTF-8");
  }
  // Spaces (valid JSON whitespace) so the data buffer starts 8-byte aligned.
  text.append((8 - text.size() % 8) % 8, ' ');
  char length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<char>((text.size() >> (8 * i)) & 0xff);

  write_file_atomically(path, [&](std::ostream& out) {
    out.write(length, 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      const auto before = out.tellp();
      tensors[i].write(out);
      const auto written = static_cast<uint64_t>(out.tellp() - before);
      MDNA_CHECK(!out || written == sizes[i], "write_safetensors: tensor " + quote(tensors[i].name) + ": " +
                                                  std::to_string(written) + " bytes written, dtype x shape needs " +
                                                  std::to_string(sizes[i]));
    }
  });
}

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<TensorToStream> streamed;
  streamed.reserve(tensors.size());
  for (const TensorToWrite& t : tensors) {
    const std::string what = "write_safetensors: tensor " + quote(t.name) + ": ";
    MDNA_CHECK(!is_block(t.dtype), what + "safetensors cannot store " + std::string(dtype_name(t.dtype)));
    uint64_t bytes = dtype_size(t.dtype);
    for (int64_t dim : t.shape) {
      MDNA_CHECK(dim >= 0, what + "negative dimension " + std::to_string(dim));
      MDNA_CHECK(!mul_overflows(bytes, static_cast<uint64_t>(dim), &bytes), what + "shape overflows");
    }
    MDNA_CHECK(t.size_bytes == bytes,
               what + std::to_string(t.size_bytes) + " bytes given, dtype x shape needs " + std::to_string(bytes));
    MDNA_CHECK(t.data || t.size_bytes == 0, what + "data is null");
    streamed.push_back({t.name, t.dtype, t.shape, [&t](std::ostream& out) {
                          if (t.size_bytes > 0)
                            out.write(static_cast<const char*>(t.data), static_cast<std::streamsize>(t.size_bytes));
                        }});
  }
  write_safetensors_streaming(path, streamed, metadata);
}

}  // namespace modeldna::io
