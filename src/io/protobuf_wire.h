// Private to io: the protobuf wire format, read field by field with every
// length checked against the enclosing message (ONNX files are protobuf).
// Hand-written rather than generated: libtorch links its own protobuf and a
// second copy clashed once (src/data/sentencepiece_module.h); this reader is
// small, bounded and fuzzed, and the io module stays free of both.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "byte_reader.h"

namespace modeldna::io::detail {

enum class WireType : uint8_t { Varint = 0, Fixed64 = 1, Bytes = 2, Fixed32 = 5 };

struct WireField {
  uint32_t number = 0;
  WireType type = WireType::Varint;
  uint64_t value = 0;              // Varint, Fixed64, Fixed32
  const std::byte* data = nullptr; // Bytes
  uint64_t size = 0;               // Bytes
  uint64_t offset = 0;             // file offset of the payload, for messages

  std::string_view text() const { return {reinterpret_cast<const char*>(data), static_cast<std::size_t>(size)}; }
};

class WireReader {
 public:
  WireReader(const std::string& path, const std::byte* data, uint64_t size, uint64_t file_offset)
      : r_(path, data, size, file_offset) {}
  /// A reader over a length-delimited field's payload (a sub-message).
  static WireReader sub(const std::string& path, const WireField& f) { return WireReader(path, f.data, f.size, f.offset); }

  bool done() const { return r_.remaining() == 0; }
  [[noreturn]] void fail(const std::string& problem) const { r_.fail(problem); }
  const std::string& path() const { return r_.path(); }

  uint64_t varint() {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      const auto byte = r_.read<uint8_t>("varint");
      if (shift == 63 && byte > 1) r_.fail("varint overflows 64 bits");
      value |= static_cast<uint64_t>(byte & 0x7F) << shift;
      if (!(byte & 0x80)) return value;
    }
    r_.fail("varint longer than 10 bytes");
  }

  WireField next() {
    WireField f;
    const uint64_t key = varint();
    if (key >> 3 == 0 || key >> 3 > 0x1FFFFFFF) r_.fail("invalid field number " + std::to_string(key >> 3));
    f.number = static_cast<uint32_t>(key >> 3);
    switch (key & 7) {
      case 0: f.type = WireType::Varint; f.value = varint(); break;
      case 1: f.type = WireType::Fixed64; f.value = r_.read<uint64_t>("fixed64"); break;
      case 5: f.type = WireType::Fixed32; f.value = r_.read<uint32_t>("fixed32"); break;
      case 2: {
        f.type = WireType::Bytes;
        f.size = varint();
        r_.need(f.size, "length-delimited field " + std::to_string(f.number));
        f.offset = r_.file_offset();
        f.data = r_.here();
        r_.skip(f.size, "field");
        break;
      }
      default: r_.fail("unsupported wire type " + std::to_string(key & 7) + " (groups are not used by ONNX)");
    }
    return f;
  }

 private:
  ByteReader r_;
};

}  // namespace modeldna::io::detail
