// Private to io: the zip container of PyTorch checkpoints and .keras files.
// Central directory only (local headers are checked against it), ZIP64
// included; stored entries are handed out as zero-copy slices of the mapped
// file, deflated ones are inflated with zlib into a buffer no larger than the
// size the directory declares (no zip bombs). Names are refused if absolute,
// holding "..", backslashes or NUL, or repeated.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "modeldna/io/tensor_store.h"

namespace modeldna::io::detail {

/// An archive may hold at most this many entries (a PyTorch checkpoint holds
/// one per storage: 100k covers the largest state dicts seen).
inline constexpr uint64_t kMaxZipEntries = 1'000'000;
/// A deflated entry is inflated only up to this size.
inline constexpr uint64_t kMaxInflatedBytes = 2ull << 30;

struct ZipEntry {
  std::string name;
  uint16_t method = 0;            // 0 stored, 8 deflated
  uint32_t crc32 = 0;
  uint64_t compressed_size = 0;
  uint64_t uncompressed_size = 0;
  uint64_t data_offset = 0;       // where the (compressed) bytes start in the file
};

class ZipArchive {
 public:
  /// Parses the central directory of `file`; FormatError naming the file.
  static ZipArchive open(std::shared_ptr<const Blob> file);
  /// True if the bytes start like a zip (a local file header).
  static bool looks_like_zip(const std::byte* data, uint64_t size);

  const std::vector<ZipEntry>& entries() const { return entries_; }
  const ZipEntry* find(std::string_view name) const;
  /// The entry's uncompressed bytes: a slice of the file when stored, an
  /// inflated buffer (CRC checked) when deflated.
  std::shared_ptr<const Blob> read(const ZipEntry& entry) const;
  const std::string& path() const { return file_->path(); }

 private:
  std::shared_ptr<const Blob> file_;
  std::vector<ZipEntry> entries_;
};

}  // namespace modeldna::io::detail
