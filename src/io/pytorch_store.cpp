// PyTorch checkpoints (torch.save's zip format since 1.6): <archive>/data.pkl
// holds the object tree, <archive>/data/<key> the raw bytes of each storage,
// <archive>/byteorder the byte order. The pickle is read by the restricted
// unpickler (pickle.h); tensors are found by walking the tree, their names
// the keys on the way joined with '.' (Lightning's state_dict.model.fc.weight).
#include <algorithm>
#include <map>
#include <set>

#include "byte_reader.h"
#include "pickle.h"
#include "readers.h"
#include "zip_archive.h"

namespace modeldna::io::detail {
namespace {

using Kind = PickleValue::Kind;

constexpr int kMaxDepth = 32;
constexpr uint64_t kMaxVisits = 20'000'000;

// Keys under which a training checkpoint keeps optimizer state, not weights.
bool optimizer_key(const std::string& key) {
  return key == "optimizer" || key == "optimizer_states" || key == "optimizer_state_dict" || key == "optim" ||
         key == "optimizers" || key == "lr_schedulers" || key == "scheduler";
}

struct Walker {
  const Unpickled& tree;
  const std::string& path;
  std::vector<std::pair<std::string, uint32_t>> tensors;  // name, tensor value
  std::set<std::string> optimizer_names;
  std::vector<bool> on_path = std::vector<bool>(tree.values.size(), false);
  uint64_t visits = 0;

  std::string key_text(uint32_t key) const {
    const auto& k = tree.values[key];
    switch (k.kind) {
      case Kind::String: return k.text;
      case Kind::Int: return std::to_string(k.integer);
      case Kind::Bool: return k.integer ? "True" : "False";
      case Kind::None: return "None";
      default: return "?";
    }
  }

  void walk(uint32_t index, const std::string& name, int depth, bool under_optimizer) {
    if (++visits > kMaxVisits) throw FormatError(path, "pickle object tree too large to walk");
    if (depth > kMaxDepth)
      throw FormatError(path, "pickle nests deeper than " + std::to_string(kMaxDepth) + " levels at " + quote(name));
    const auto& v = tree.values[index];
    if (v.kind == Kind::Tensor) {
      tensors.emplace_back(name, index);
      if (under_optimizer) optimizer_names.insert(name);
      return;
    }
    if (v.kind != Kind::Dict && v.kind != Kind::List && v.kind != Kind::Tuple) return;
    if (on_path[index]) return;  // a cycle: the object contains itself
    on_path[index] = true;
    auto child = [&](const std::string& key) { return name.empty() ? key : name + "." + key; };
    if (v.kind == Kind::Dict) {
      for (std::size_t i = 0; i + 1 < v.items.size(); i += 2) {
        const std::string key = key_text(v.items[i]);
        walk(v.items[i + 1], child(key), depth + 1, under_optimizer || (depth == 0 && optimizer_key(key)));
      }
    } else {
      for (std::size_t i = 0; i < v.items.size(); ++i)
        walk(v.items[i], child(std::to_string(i)), depth + 1, under_optimizer);
    }
    on_path[index] = false;
  }
};

}  // namespace

TensorStore read_pytorch(std::shared_ptr<const Blob> file) {
  const std::string& path = file->path();
  const ZipArchive zip = ZipArchive::open(file);

  // The archive's folder: the one entry "<folder>/data.pkl".
  const ZipEntry* pickle_entry = nullptr;
  for (const auto& e : zip.entries()) {
    const auto slash = e.name.find('/');
    if (slash != std::string::npos && e.name.compare(slash, std::string::npos, "/data.pkl") == 0) {
      if (pickle_entry) throw FormatError(path, "zip holds two data.pkl entries");
      pickle_entry = &e;
    }
  }
  if (!pickle_entry) throw FormatError(path, "zip archive without <folder>/data.pkl: not a PyTorch checkpoint");
  const std::string folder = pickle_entry->name.substr(0, pickle_entry->name.find('/'));
  if (const ZipEntry* order = zip.find(folder + "/byteorder")) {
    const auto blob = zip.read(*order);
    const std::string text(reinterpret_cast<const char*>(blob->data()), std::min<uint64_t>(blob->size(), 16));
    if (text != "little") throw FormatError(path, "byteorder is " + quote(text) + "; only little-endian checkpoints are supported");
  }

  const auto pickle_bytes = zip.read(*pickle_entry);
  const Unpickled tree = unpickle(path + ":" + pickle_entry->name, pickle_bytes->data(), pickle_bytes->size());

  TensorStore store(Format::PyTorch, path);
  store.add_file(path);
  Walker walker{tree, path, {}, {}};
  walker.walk(tree.root, "", 0, false);
  const auto& root = tree.values[tree.root];
  if (root.kind == Kind::Dict)
    for (std::size_t i = 0; i + 1 < root.items.size(); i += 2) {
      const auto& value = tree.values[root.items[i + 1]];
      const std::string key = walker.key_text(root.items[i]);
      if (value.kind == Kind::Int) store.mutable_metadata()[sanitize_utf8(key)] = value.integer;
      else if (value.kind == Kind::Float) store.mutable_metadata()[sanitize_utf8(key)] = value.real;
      else if (value.kind == Kind::String) store.mutable_metadata()[sanitize_utf8(key)] = sanitize_utf8(value.text);
    }
  store.mutable_metadata()["pytorch.archive"] = sanitize_utf8(folder);

  std::map<std::string, uint32_t> storage_blobs;  // storage key -> blob
  std::set<std::string> names;
  for (const auto& [raw_name, index] : walker.tensors) {
    const PickleValue& t = tree.values[index];
    const PickleValue& storage = tree.values[t.storage];
    const std::string name = sanitize_utf8(raw_name);
    if (!names.insert(name).second) continue;  // the same key reached twice (a list inside a dict)
    const std::string entry_name = folder + "/data/" + storage.text;
    const ZipEntry* entry = zip.find(entry_name);
    if (!entry) throw FormatError(path, "tensor " + quote(name) + " needs storage " + quote(storage.text) + ", which the archive lacks");
    auto it = storage_blobs.find(storage.text);
    if (it == storage_blobs.end()) it = storage_blobs.emplace(storage.text, store.add_blob(zip.read(*entry))).first;

    const bool untyped = storage.dtype == DType::U8 && t.dtype != DType::U8;
    const uint64_t element = dtype_size(t.dtype);
    uint64_t storage_bytes = 0;
    if (__builtin_mul_overflow(static_cast<uint64_t>(storage.numel), untyped ? 1 : dtype_size(storage.dtype), &storage_bytes))
      throw FormatError(path, "storage " + quote(storage.text) + " size overflows");
    if (storage_bytes > entry->uncompressed_size)
      throw FormatError(path, "storage " + quote(storage.text) + " declares " + std::to_string(storage_bytes) +
                                  " bytes but its entry holds " + std::to_string(entry->uncompressed_size));
    if (t.storage_offset < 0) throw FormatError(path, "tensor " + quote(name) + " has a negative storage offset");
    uint64_t offset_bytes = 0;
    if (__builtin_mul_overflow(static_cast<uint64_t>(t.storage_offset), element, &offset_bytes) || offset_bytes > storage_bytes)
      throw FormatError(path, "tensor " + quote(name) + " starts past the end of its storage");

    TensorInfo info;
    info.name = name;
    info.dtype = t.dtype;
    info.shape = t.size;
    info.blob = it->second;
    info.offset = offset_bytes;
    info.size_bytes = storage_bytes - offset_bytes;
    info.strides = t.stride;
    if (info.contiguous()) {
      info.strides.clear();
      const auto numel = checked_numel(info.shape);
      const auto bytes = numel ? bytes_for(info.dtype, *numel) : std::nullopt;
      if (!bytes) throw FormatError(path, "tensor " + quote(name) + " has an overflowing shape");
      if (*bytes > info.size_bytes)
        throw FormatError(path, "tensor " + quote(name) + " needs " + std::to_string(*bytes) + " bytes, its storage holds " +
                                    std::to_string(info.size_bytes) + " from its offset");
      info.size_bytes = *bytes;
    }
    tag_by_name(info);
    if (walker.optimizer_names.count(raw_name)) info.role = Role::Optimizer;
    store.add_tensor(std::move(info));
  }
  return store;
}

}  // namespace modeldna::io::detail
