// Private to io: the part of HDF5 that Keras weight files use, read with
// every address, size and count checked (docs/formats/keras.md). Superblocks
// v0-v3; object headers v1 and v2 with continuation blocks; groups as symbol
// tables (v1 B-tree + local heap) or compact link messages; datasets stored
// compact, contiguous, or chunked (v1 B-tree index) with deflate, shuffle
// and Fletcher-32 filters; attributes of fixed-size numbers and strings.
// Hand-written rather than libhdf5, which is not hardened against hostile
// files; anything outside this subset is refused by name.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "modeldna/io/tensor_store.h"

namespace modeldna::io::detail {

struct Hdf5Type {
  enum class Class : uint8_t { Integer, Float, String, Other } cls = Class::Other;
  uint32_t size = 0;        // bytes per element
  bool is_signed = false;
  bool variable = false;    // a variable-length string: elements are global heap references
  std::optional<DType> dtype;  // for numbers
};

struct Hdf5Attribute {
  std::string name;
  Hdf5Type type;
  std::vector<uint64_t> dims;
  std::vector<std::byte> data;  // numel x type.size bytes (empty for types we do not read)
  std::vector<std::string> variable_strings;  // variable-length strings, read from the global heap

  /// The strings (fixed- or variable-length, one per element), trailing NULs
  /// and spaces cut.
  std::vector<std::string> strings() const;
};

struct Hdf5Dataset {
  Hdf5Type type;
  std::vector<int64_t> shape;
  // Contiguous or compact: the bytes in the file. Chunked: assembled (and
  // inflated) into `assembled`.
  uint64_t offset = 0, size = 0;
  bool compact = false;
  std::shared_ptr<const Blob> assembled;
};

class Hdf5File {
 public:
  static Hdf5File open(std::shared_ptr<const Blob> file);

  uint64_t root() const { return root_; }
  /// The object's links: name -> object header address, in name order.
  std::vector<std::pair<std::string, uint64_t>> children(uint64_t object) const;
  std::vector<Hdf5Attribute> attributes(uint64_t object) const;
  /// nullopt for a group.
  std::optional<Hdf5Dataset> dataset(uint64_t object) const;
  const std::shared_ptr<const Blob>& blob() const { return file_; }
  const std::string& path() const { return file_->path(); }

 private:
  struct Message {
    uint16_t type;
    const std::byte* data;
    uint64_t size;
    uint64_t address;  // of the payload, for messages
  };
  std::vector<Message> messages(uint64_t object) const;
  uint64_t assembly_limit() const;
  std::string global_heap_string(uint64_t collection, uint32_t index, uint32_t length) const;

  std::shared_ptr<const Blob> file_;
  uint64_t base_ = 0, root_ = 0;
  uint8_t offset_size_ = 8, length_size_ = 8;
  friend struct Hdf5Parser;
};

}  // namespace modeldna::io::detail
