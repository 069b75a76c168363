// Private to io: the bounded cursor every binary reader parses with. Every
// read checks the remaining bytes first and fails with a FormatError that
// names the file, the byte offset and what was being read, so no reader can
// run past its input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "modeldna/core/error.h"

namespace modeldna::io::detail {

/// Names from untrusted files, cut to one short printable line.
std::string quote(std::string_view name);

class ByteReader {
 public:
  ByteReader(std::string path, const std::byte* data, uint64_t size, uint64_t base_offset = 0)
      : path_(std::move(path)), data_(data), size_(size), base_(base_offset) {}

  uint64_t position() const { return pos_; }
  uint64_t remaining() const { return size_ - pos_; }
  /// Offset in the file, for messages.
  uint64_t file_offset() const { return base_ + pos_; }
  const std::byte* here() const { return data_ + pos_; }
  const std::string& path() const { return path_; }

  [[noreturn]] void fail(const std::string& problem) const {
    throw FormatError(path_, "at byte " + std::to_string(file_offset()) + ": " + problem);
  }
  void need(uint64_t bytes, std::string_view what) const {
    if (bytes > remaining())
      fail("truncated: " + std::string(what) + " needs " + std::to_string(bytes) + " bytes, " +
           std::to_string(remaining()) + " left");
  }
  void skip(uint64_t bytes, std::string_view what) {
    need(bytes, what);
    pos_ += bytes;
  }
  void seek(uint64_t position, std::string_view what) {
    if (position > size_) fail(std::string(what) + " at " + std::to_string(position) + " is past the end");
    pos_ = position;
  }
  template <typename T>
  T read(std::string_view what) {
    need(sizeof(T), what);
    T value;
    std::memcpy(&value, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }
  std::string_view bytes(uint64_t n, std::string_view what) {
    need(n, what);
    const std::string_view out(reinterpret_cast<const char*>(data_ + pos_), static_cast<std::size_t>(n));
    pos_ += n;
    return out;
  }

 private:
  std::string path_;
  const std::byte* data_;
  uint64_t size_;
  uint64_t base_;
  uint64_t pos_ = 0;
};

}  // namespace modeldna::io::detail
