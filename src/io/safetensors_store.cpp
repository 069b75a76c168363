// safetensors files as tensor stores: one file, or a sharded checkpoint
// (model.safetensors.index.json naming the shard of every tensor).
#include <cstring>
#include <map>
#include <set>

#include "byte_reader.h"
#include "modeldna/core/json_file.h"
#include "modeldna/io/convert.h"
#include "modeldna/io/safetensors.h"
#include "readers.h"

namespace modeldna::io::detail {
namespace {

// An index holds one entry per tensor; real ones are at most a few MB.
constexpr uintmax_t kMaxIndexBytes = 64ull << 20;

void add_file_tensors(TensorStore& store, const SafetensorsFile& file, uint32_t blob,
                      const std::set<std::string>* only = nullptr) {
  const std::byte* base = file.blob()->data();
  const auto quantization = file.metadata().find(kQuantizationKey);
  const bool int8 = quantization != file.metadata().end() && quantization->second == kInt8PerTensor;
  for (const TensorView& view : file.tensors()) {
    if (only && !only->count(view.name))
      throw FormatError(file.path(), "tensor " + quote(view.name) + " is not in the index's weight_map for this shard");
    TensorInfo t;
    t.name = view.name;
    t.dtype = view.dtype;
    t.shape = view.shape;
    t.blob = blob;
    t.offset = static_cast<uint64_t>(view.data - base);
    t.size_bytes = view.size_bytes;
    const TensorView* scale = int8 && view.dtype == DType::I8 ? file.find(view.name + kInt8ScaleSuffix) : nullptr;
    if (scale && scale->dtype == DType::F32 && scale->numel() == 1) {
      float s;
      std::memcpy(&s, scale->data, 4);
      t.quantization = AffineQuantization{{s}, {0.0}, {}, -1};
      t.note = "int8 x " + std::string(kInt8ScaleSuffix) + " scale";
    }
    tag_by_name(t);
    const bool is_scale = int8 && view.name.size() > std::strlen(kInt8ScaleSuffix) &&
                          view.name.compare(view.name.size() - std::strlen(kInt8ScaleSuffix), std::string::npos,
                                            kInt8ScaleSuffix) == 0;
    if (is_scale) t.role = Role::QuantParam;
    store.add_tensor(std::move(t));
  }
}

// A file modeldna converted keeps each tensor's layout and role (its source's
// graph said what they are) in __metadata__: restore them.
void restore_tags(TensorStore& store, const std::string& path) {
  const auto& meta = store.metadata();
  auto apply = [&](const char* key, auto parse, auto set) {
    if (!meta.contains(key) || !meta[key].is_string()) return;
    const auto doc = parse_json(path, meta[key].get<std::string>(), {kMaxIndexBytes, 2});
    if (!doc.is_object()) throw FormatError(path, std::string("__metadata__ ") + key + " is not a JSON object");
    for (const auto& item : doc.items()) {
      TensorInfo* t = store.mutable_find(item.key());
      const auto value = item.value().is_string() ? parse(item.value().template get<std::string>()) : std::nullopt;
      if (!t || !value)
        throw FormatError(path, std::string("__metadata__ ") + key + " names " + quote(item.key()) + " badly");
      set(*t, *value);
    }
  };
  apply(kLayoutsKey, [](const std::string& n) { return parse_layout(n); }, [](TensorInfo& t, Layout l) { t.layout = l; });
  apply(kRolesKey, [](const std::string& n) { return parse_role(n); }, [](TensorInfo& t, Role r) { t.role = r; });
}

}  // namespace

TensorStore read_safetensors(std::shared_ptr<const Blob> blob) {
  const auto file = SafetensorsFile::open(blob);
  TensorStore store(Format::Safetensors, blob->path());
  store.add_file(blob->path());
  for (const auto& [key, value] : file.metadata()) store.mutable_metadata()[key] = sanitize_utf8(value);
  add_file_tensors(store, file, store.add_blob(file.blob()));
  restore_tags(store, blob->path());
  return store;
}

TensorStore read_safetensors_index(const std::string& index_path) {
  const nlohmann::json index = read_json_file(index_path, {kMaxIndexBytes, 8});
  if (!index.is_object()) throw FormatError(index_path, "the index is not a JSON object");
  if (!index.contains("weight_map") || !index["weight_map"].is_object())
    throw FormatError(index_path, "the index has no \"weight_map\" object");
  // shard file -> the tensors the index puts there
  std::map<std::string, std::set<std::string>> shards;
  for (const auto& item : index["weight_map"].items()) {
    if (!item.value().is_string())
      throw FormatError(index_path, "weight_map entry " + quote(item.key()) + " is not a file name");
    const std::string& shard = item.value().get_ref<const std::string&>();
    if (shard.find('/') != std::string::npos || shard.find('\\') != std::string::npos)
      throw FormatError(index_path, "refusing shard " + quote(shard) + ": shards must lie in the index's folder");
    shards[resolve_inside(index_path, shard)].insert(item.key());
  }
  if (shards.empty()) throw FormatError(index_path, "the weight_map is empty");

  TensorStore store(Format::Safetensors, index_path);
  store.add_file(index_path);
  if (index.contains("metadata") && index["metadata"].is_object()) store.mutable_metadata() = index["metadata"];
  for (const auto& [shard, names] : shards) {
    const auto file = SafetensorsFile::open(map_file(shard));
    store.add_file(shard);
    for (const auto& [key, value] : file.metadata())
      if (!store.metadata().contains(key)) store.mutable_metadata()[key] = sanitize_utf8(value);
    add_file_tensors(store, file, store.add_blob(file.blob()), &names);
    for (const auto& name : names)
      if (!file.find(name))
        throw FormatError(shard, "tensor " + quote(name) + " named by the index is missing from this shard");
  }
  return store;
}

}  // namespace modeldna::io::detail
