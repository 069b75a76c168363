// File: modeldna/io/open_store.h
// The one way in: any model file (or folder) modeldna reads, as a
// TensorStore. The reader is chosen by content (magic bytes, zip entries,
// JSON shape), never by extension alone. Torch-free.
//
// Example:
//   const auto store = modeldna::io::open_store("model.gguf");
//   for (const auto& t : store.tensors()) std::vector<float> v = store.read_f32(t);
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "modeldna/io/tensor_store.h"

namespace modeldna::io {

struct OpenOptions {
  /// The model starts this many bytes into the file (a TFLite model embedded
  /// in a larger bundle), and is `length` bytes long (0: to the end).
  uint64_t offset = 0;
  uint64_t length = 0;
};

struct Detection {
  std::optional<Format> format;  // nullopt: nothing modeldna reads
  std::string looks_like;        // what it seems to be, for the error message
};

/// What `path` holds, judged by content. FormatError if it cannot be read.
Detection detect_format(const std::string& path, const OpenOptions& options = {});

/// Opens and validates `path`. FormatError "<path>: <problem>" for anything
/// malformed, hostile or unknown ("not a model file modeldna can read (looks
/// like a PNG image)").
TensorStore open_store(const std::string& path, const OpenOptions& options = {});

}  // namespace modeldna::io
