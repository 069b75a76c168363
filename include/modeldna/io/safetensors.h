// File: modeldna/io/safetensors.h
// The safetensors format (https://github.com/huggingface/safetensors), read
// from untrusted files and written by modeldna. Torch-free on purpose: format
// code must not need tensors. Layout of a file:
//   1. u64 little-endian N: the length of the JSON header.
//   2. N bytes of UTF-8 JSON: {"name": {"dtype": "F32", "shape": [..],
//      "data_offsets": [begin, end]}, ..., "__metadata__": {"k": "v"}}.
//   3. The data buffer; offsets are relative to its start.
// docs/formats/safetensors.md lists every check the reader makes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "modeldna/io/dtype.h"

namespace modeldna::io {

class Blob;

/// The dtypes safetensors defines (every plain DType: F64 ... F8_E5M2, I64 ...
/// U8, BOOL); nullopt for any other name, ggml's block types included.
std::optional<DType> parse_safetensors_dtype(std::string_view name);

/// A tensor inside an open file: its bytes point into the memory map.
struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const std::byte* data = nullptr;  // valid while the SafetensorsFile lives
  std::size_t size_bytes = 0;

  int64_t numel() const;
};

/// modeldna's own int8 convention inside safetensors: with
/// __metadata__["modeldna.quantization"] = "int8-per-tensor", an I8 tensor
/// "<name>" has a float32 scalar "<name>.qscale" and stands for q * scale.
/// The store reader exposes it as affine quantization.
inline constexpr const char* kQuantizationKey = "modeldna.quantization";
inline constexpr const char* kInt8PerTensor = "int8-per-tensor";
inline constexpr const char* kInt8ScaleSuffix = ".qscale";

/// The largest JSON header the reader accepts (the reference implementation
/// caps it at 100 MB too): a bigger declared length is refused before reading.
inline constexpr uint64_t kMaxHeaderBytes = 100ull * 1024 * 1024;

/// A validated, memory-mapped safetensors file. Move-only.
class SafetensorsFile {
 public:
  /// Opens and validates `path`; throws FormatError naming the file and the
  /// problem for anything that is not a well-formed safetensors file.
  static SafetensorsFile open(const std::string& path);
  /// The same on bytes already mapped (a shard, a slice of a larger file).
  static SafetensorsFile open(std::shared_ptr<const Blob> blob);

  SafetensorsFile(SafetensorsFile&&) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&&) noexcept;
  ~SafetensorsFile();

  const std::string& path() const;
  /// The header's "__metadata__" (string to string); empty if absent.
  const std::map<std::string, std::string>& metadata() const;
  /// Tensors in order of their data offsets.
  const std::vector<TensorView>& tensors() const;
  /// nullptr when no tensor has that name.
  const TensorView* find(std::string_view name) const;
  /// Like find(), but throws FormatError naming the file when absent.
  const TensorView& at(std::string_view name) const;
  /// The bytes the views point into.
  const std::shared_ptr<const Blob>& blob() const;

 private:
  struct Impl;
  explicit SafetensorsFile(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// A tensor to write: the caller keeps `data` alive during the call.
struct TensorToWrite {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const void* data = nullptr;
  std::size_t size_bytes = 0;
};

/// Writes a safetensors file atomically (temporary file, then rename). Tensors
/// are stored in the given order; names must be unique and sizes must match
/// dtype x shape, else UsageError.
void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

/// A tensor whose bytes a callback writes when its turn comes, so a file of
/// any size is written without holding it in memory.
struct TensorToStream {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  /// Must write exactly numel x dtype size bytes (checked: UsageError).
  std::function<void(std::ostream&)> write;
};

/// write_safetensors, streaming: the header is computed from names, dtypes
/// and shapes first, then each tensor's callback fills its bytes in order.
void write_safetensors_streaming(const std::string& path, const std::vector<TensorToStream>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace modeldna::io
