#include "hdf5.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "byte_reader.h"
#include "readers.h"

namespace modeldna::io::detail {
namespace {

constexpr uint64_t kUndefined = ~uint64_t{0};
constexpr int kMaxContinuations = 1024;
constexpr uint64_t kMaxMessages = 100'000;
constexpr int kMaxBtreeDepth = 32;
constexpr uint64_t kMaxChildren = 1'000'000;
constexpr uint64_t kMaxChunks = 10'000'000;
constexpr std::size_t kMaxRank = 32;

// Message types.
constexpr uint16_t kDataspace = 0x0001, kLinkInfo = 0x0002, kDatatype = 0x0003, kLink = 0x0006,
                   kLayout = 0x0008, kFilters = 0x000B, kAttribute = 0x000C, kContinuation = 0x0010,
                   kSymbolTable = 0x0011, kAttributeInfo = 0x0015;

uint64_t align8(uint64_t n) { return (n + 7) & ~uint64_t{7}; }

}  // namespace

struct Hdf5Parser {
  const Hdf5File& f;

  ByteReader at(uint64_t address, const std::string& what) const {
    uint64_t absolute = 0;
    if (address == kUndefined || __builtin_add_overflow(address, f.base_, &absolute) || absolute >= f.file_->size())
      throw FormatError(f.path(), what + " at address " + std::to_string(address) + " lies outside the file");
    return ByteReader(f.path(), f.file_->data() + absolute, f.file_->size() - absolute, absolute);
  }
  uint64_t address(ByteReader& r) const {
    uint64_t v = 0;
    const std::string_view b = r.bytes(f.offset_size_, "address");
    for (std::size_t i = 0; i < b.size(); ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(b[i])) << (8 * i);
    if (f.offset_size_ < 8 && v == (uint64_t{1} << (8 * f.offset_size_)) - 1) return kUndefined;
    return v;
  }
  uint64_t length(ByteReader& r) const {
    uint64_t v = 0;
    const std::string_view b = r.bytes(f.length_size_, "length");
    for (std::size_t i = 0; i < b.size(); ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(b[i])) << (8 * i);
    return v;
  }
  uint64_t sized(ByteReader& r, int bytes, std::string_view what) const {
    uint64_t v = 0;
    const std::string_view b = r.bytes(static_cast<uint64_t>(bytes), what);
    for (std::size_t i = 0; i < b.size(); ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(b[i])) << (8 * i);
    return v;
  }

  // Object header v1: 16-byte prefix, then 8-byte-aligned messages.
  void header_v1(uint64_t object, std::vector<Hdf5File::Message>& out) const {
    ByteReader r = at(object, "object header");
    if (r.read<uint8_t>("header version") != 1) r.fail("object header version is not 1");
    r.skip(1, "reserved");
    const auto count = r.read<uint16_t>("message count");
    r.skip(4, "reference count");
    const auto size = r.read<uint32_t>("header size");
    r.skip(4, "padding");
    std::vector<std::pair<uint64_t, uint64_t>> blocks = {{r.file_offset() - f.base_, size}};
    std::set<uint64_t> seen;
    uint64_t read = 0;
    for (std::size_t b = 0; b < blocks.size() && read < count; ++b) {
      if (b > kMaxContinuations || !seen.insert(blocks[b].first).second) r.fail("object header continuations loop or are too many");
      ByteReader block = at(blocks[b].first, "object header block");
      block.need(blocks[b].second, "object header block");
      ByteReader msgs(f.path(), block.here(), blocks[b].second, block.file_offset());
      while (msgs.remaining() >= 8 && read < count) {
        Hdf5File::Message m{};
        m.type = msgs.read<uint16_t>("message type");
        const auto msize = msgs.read<uint16_t>("message size");
        msgs.skip(4, "message flags");
        msgs.need(msize, "message");
        m.data = msgs.here();
        m.size = msize;
        m.address = msgs.file_offset();
        msgs.skip(std::min<uint64_t>(align8(msize), msgs.remaining()), "message");
        ++read;
        if (m.type == kContinuation) {
          ByteReader c(f.path(), m.data, m.size, m.address);
          const uint64_t where = address(c), len = length(c);
          blocks.emplace_back(where, len);
        } else {
          out.push_back(m);
        }
        if (out.size() > kMaxMessages) r.fail("too many header messages");
      }
    }
  }

  // Object header v2: "OHDR", flags, optional times and attribute limits,
  // chunk 0 size, messages, checksum; continuations are "OCHK" blocks.
  void header_v2(uint64_t object, std::vector<Hdf5File::Message>& out) const {
    ByteReader r = at(object, "object header");
    r.skip(4, "signature");
    if (r.read<uint8_t>("header version") != 2) r.fail("object header version is not 2");
    const auto flags = r.read<uint8_t>("header flags");
    if (flags & 0x20) r.skip(16, "times");
    if (flags & 0x10) r.skip(4, "attribute phase change");
    const int size_bytes = 1 << (flags & 3);
    const uint64_t chunk = sized(r, size_bytes, "chunk size");
    const bool creation_order = flags & 0x04;
    std::vector<std::pair<uint64_t, uint64_t>> blocks = {{r.file_offset() - f.base_, chunk}};
    std::set<uint64_t> seen;
    for (std::size_t b = 0; b < blocks.size(); ++b) {
      if (b > kMaxContinuations || !seen.insert(blocks[b].first).second) r.fail("object header continuations loop or are too many");
      ByteReader block = at(blocks[b].first, "object header block");
      uint64_t start = 0, usable = blocks[b].second;
      if (b > 0) {
        if (block.bytes(4, "continuation signature") != "OCHK") block.fail("bad continuation block signature");
        start = 4;
        if (usable < 8) block.fail("continuation block too short");
        usable -= 8;  // signature and checksum
      }
      block.seek(start, "messages");
      block.need(usable, "object header block");
      ByteReader msgs(f.path(), block.here(), usable, block.file_offset());
      while (msgs.remaining() >= 4u + (creation_order ? 2u : 0u)) {
        Hdf5File::Message m{};
        m.type = msgs.read<uint8_t>("message type");
        const auto msize = msgs.read<uint16_t>("message size");
        msgs.skip(1, "message flags");
        if (creation_order) msgs.skip(2, "creation order");
        msgs.need(msize, "message");
        m.data = msgs.here();
        m.size = msize;
        m.address = msgs.file_offset();
        msgs.skip(msize, "message");
        if (m.type == kContinuation) {
          ByteReader c(f.path(), m.data, m.size, m.address);
          const uint64_t where = address(c), len = length(c);
          blocks.emplace_back(where, len);
        } else if (m.type != 0) {
          out.push_back(m);
        }
        if (out.size() > kMaxMessages) r.fail("too many header messages");
      }
    }
  }

  Hdf5Type datatype(ByteReader r) const {
    Hdf5Type t;
    const auto class_version = r.read<uint8_t>("datatype class");
    const int cls = class_version & 0x0F;
    const auto bits = r.read<uint8_t>("datatype bits");
    r.skip(2, "datatype bits");
    t.size = r.read<uint32_t>("datatype size");
    if (cls == 0 || cls == 8) {  // fixed-point (enum: its base type follows; h5py bools are enums)
      if (cls == 8) {
        const auto base_class = r.read<uint8_t>("enum base class") & 0x0F;
        const auto base_bits = r.read<uint8_t>("enum base bits");
        r.skip(2, "enum base bits");
        t.size = r.read<uint32_t>("enum base size");
        if (base_class != 0) return t;
        t.is_signed = base_bits & 0x08;
      } else {
        t.is_signed = bits & 0x08;
      }
      if (bits & 0x01 && cls == 0) return t;  // big-endian
      t.cls = Hdf5Type::Class::Integer;
      switch (t.size) {
        case 1: t.dtype = t.is_signed ? DType::I8 : DType::U8; break;
        case 2: t.dtype = t.is_signed ? DType::I16 : DType::U16; break;
        case 4: t.dtype = t.is_signed ? DType::I32 : DType::U32; break;
        case 8: t.dtype = t.is_signed ? DType::I64 : DType::U64; break;
        default: break;
      }
    } else if (cls == 1) {
      if (bits & 0x41) return t;  // big-endian or VAX order
      t.cls = Hdf5Type::Class::Float;
      if (t.size == 4) t.dtype = DType::F32;
      if (t.size == 8) t.dtype = DType::F64;
      if (t.size == 2) t.dtype = DType::F16;
    } else if (cls == 3) {
      t.cls = Hdf5Type::Class::String;
    } else if (cls == 9 && (bits & 0x0F) == 1) {
      t.cls = Hdf5Type::Class::String;
      t.variable = true;
    }
    return t;
  }

  std::vector<uint64_t> dataspace(ByteReader r) const {
    const auto version = r.read<uint8_t>("dataspace version");
    const auto rank = r.read<uint8_t>("dataspace rank");
    const auto flags = r.read<uint8_t>("dataspace flags");
    if (version == 1) {
      r.skip(5, "reserved");
    } else if (version == 2) {
      const auto type = r.read<uint8_t>("dataspace type");
      if (type == 2) return {0};  // null: no elements
    } else {
      r.fail("unsupported dataspace version " + std::to_string(version));
    }
    (void)flags;
    if (rank > kMaxRank) r.fail("dataspace of rank " + std::to_string(rank));
    std::vector<uint64_t> dims(rank);
    for (auto& d : dims) d = length(r);
    return dims;
  }
};

std::vector<std::string> Hdf5Attribute::strings() const {
  if (type.variable) return variable_strings;
  std::vector<std::string> out;
  if (type.cls != Hdf5Type::Class::String || type.size == 0) return out;
  for (std::size_t at = 0; at + type.size <= data.size(); at += type.size) {
    std::string s(reinterpret_cast<const char*>(data.data() + at), type.size);
    while (!s.empty() && (s.back() == '\0' || s.back() == ' ')) s.pop_back();
    if (const auto nul = s.find('\0'); nul != std::string::npos) s.resize(nul);
    out.push_back(sanitize_utf8(s));
  }
  return out;
}

Hdf5File Hdf5File::open(std::shared_ptr<const Blob> file) {
  Hdf5File h;
  h.file_ = std::move(file);
  const uint64_t size = h.file_->size();
  uint64_t signature = kUndefined;
  for (uint64_t at = 0; at + 8 <= size && signature == kUndefined; at = at ? at * 2 : 512) {
    if (std::memcmp(h.file_->data() + at, "\x89HDF\r\n\x1a\n", 8) == 0) signature = at;
    if (at > (uint64_t{1} << 40)) break;
  }
  ByteReader r(h.path(), h.file_->data(), size);
  if (signature == kUndefined) r.fail("no HDF5 signature");
  r.seek(signature + 8, "superblock");
  const auto version = r.read<uint8_t>("superblock version");
  Hdf5Parser p{h};
  if (version == 0 || version == 1) {
    r.skip(4, "superblock versions");
    h.offset_size_ = r.read<uint8_t>("size of offsets");
    h.length_size_ = r.read<uint8_t>("size of lengths");
    r.skip(1, "reserved");
    r.skip(2 + 2 + 4, "tree parameters and flags");
    if (version == 1) r.skip(4, "indexed storage parameters");
  } else if (version == 2 || version == 3) {
    h.offset_size_ = r.read<uint8_t>("size of offsets");
    h.length_size_ = r.read<uint8_t>("size of lengths");
    r.skip(1, "flags");
  } else {
    r.fail("unsupported HDF5 superblock version " + std::to_string(version));
  }
  for (uint8_t s : {h.offset_size_, h.length_size_})
    if (s != 2 && s != 4 && s != 8) r.fail("HDF5 field size " + std::to_string(s) + " is not 2, 4 or 8");
  h.base_ = p.address(r);
  if (h.base_ != 0 && h.base_ != signature) r.fail("unsupported base address " + std::to_string(h.base_));
  h.base_ = signature;
  if (version <= 1) {
    p.address(r);  // free space
    p.address(r);  // end of file
    p.address(r);  // driver information
    // The root group's symbol table entry: name offset, header address, ...
    p.address(r);
    h.root_ = p.address(r);
  } else {
    p.address(r);  // superblock extension
    p.address(r);  // end of file
    h.root_ = p.address(r);
  }
  if (h.root_ == kUndefined) r.fail("no root group");
  return h;
}

std::string Hdf5File::global_heap_string(uint64_t collection, uint32_t index, uint32_t length) const {
  Hdf5Parser p{*this};
  ByteReader g = p.at(collection, "global heap");
  if (g.bytes(4, "global heap signature") != "GCOL") g.fail("bad global heap signature");
  g.skip(4, "global heap version");
  const uint64_t size = p.length(g);
  if (size < 16) g.fail("global heap too small");
  g.need(size - 16, "global heap");
  ByteReader objects(path(), g.here(), size - 16, g.file_offset());
  while (objects.remaining() >= uint64_t{8} + length_size_) {
    const auto object = objects.read<uint16_t>("heap object index");
    objects.skip(6, "reference count");
    const uint64_t object_size = p.length(objects);
    if (object == 0) break;  // free space
    if (object == index) {
      if (length > object_size) objects.fail("string longer than its heap object");
      return sanitize_utf8(objects.bytes(length, "heap string"));
    }
    objects.skip(std::min<uint64_t>(align8(object_size), objects.remaining()), "heap object");
  }
  g.fail("heap object " + std::to_string(index) + " not found");
}

// Chunked and unwritten datasets are assembled in memory: at most 2 GiB, and
// at most 64 times the file (compressed weights shrink far less).
uint64_t Hdf5File::assembly_limit() const {
  return std::min<uint64_t>(uint64_t{1} << 31, file_->size() * 64 + (uint64_t{1} << 20));
}

std::vector<Hdf5File::Message> Hdf5File::messages(uint64_t object) const {
  Hdf5Parser p{*this};
  ByteReader r = p.at(object, "object header");
  r.need(4, "object header");
  std::vector<Message> out;
  if (r.bytes(4, "signature") == "OHDR") p.header_v2(object, out);
  else p.header_v1(object, out);
  return out;
}

std::vector<std::pair<std::string, uint64_t>> Hdf5File::children(uint64_t object) const {
  Hdf5Parser p{*this};
  std::vector<std::pair<std::string, uint64_t>> out;
  for (const Message& m : messages(object)) {
    ByteReader r(path(), m.data, m.size, m.address);
    if (m.type == kLinkInfo) {
      r.skip(1, "version");
      const auto flags = r.read<uint8_t>("link info flags");
      if (flags & 1) r.skip(8, "creation index");
      const uint64_t heap = p.address(r);
      if (heap != kUndefined)
        r.fail("group stores its links in a fractal heap (HDF5 'latest' format with many links), which is not supported");
    } else if (m.type == kLink) {
      if (r.read<uint8_t>("link version") != 1) r.fail("unsupported link message version");
      const auto flags = r.read<uint8_t>("link flags");
      uint8_t type = 0;
      if (flags & 0x08) type = r.read<uint8_t>("link type");
      if (flags & 0x04) r.skip(8, "creation order");
      if (flags & 0x10) r.skip(1, "charset");
      const uint64_t name_length = p.sized(r, 1 << (flags & 3), "link name length");
      const std::string name = sanitize_utf8(r.bytes(name_length, "link name"));
      if (type == 0) out.emplace_back(name, p.address(r));  // hard links only
    } else if (m.type == kSymbolTable) {
      const uint64_t btree = p.address(r), heap_address = p.address(r);
      ByteReader heap = p.at(heap_address, "local heap");
      if (heap.bytes(4, "heap signature") != "HEAP") heap.fail("bad local heap signature");
      heap.skip(4, "heap version");
      const uint64_t heap_size = p.length(heap);
      p.length(heap);  // free list
      const uint64_t heap_data = p.address(heap);
      ByteReader names = p.at(heap_data, "local heap data");
      names.need(heap_size, "local heap data");
      auto name_at = [&](uint64_t offset) {
        if (offset >= heap_size) names.fail("link name outside the local heap");
        const auto* start = reinterpret_cast<const char*>(names.here()) + offset;
        const void* end = std::memchr(start, 0, static_cast<std::size_t>(heap_size - offset));
        if (!end) names.fail("unterminated link name");
        return sanitize_utf8(std::string_view(start, static_cast<std::size_t>(static_cast<const char*>(end) - start)));
      };
      // Depth-first over the group B-tree; leaves point to symbol nodes.
      std::vector<std::pair<uint64_t, int>> todo = {{btree, 0}};
      std::set<uint64_t> visited;
      while (!todo.empty()) {
        const auto [node, depth] = todo.back();
        todo.pop_back();
        if (depth > kMaxBtreeDepth || !visited.insert(node).second) r.fail("group B-tree loops or is too deep");
        ByteReader t = p.at(node, "group B-tree node");
        if (t.bytes(4, "B-tree signature") != "TREE") t.fail("bad B-tree signature");
        if (t.read<uint8_t>("node type") != 0) t.fail("group B-tree of the wrong type");
        const auto level = t.read<uint8_t>("node level");
        const auto entries = t.read<uint16_t>("entries used");
        p.address(t);
        p.address(t);
        std::vector<uint64_t> kids;
        for (uint16_t e = 0; e < entries; ++e) {
          p.length(t);  // key: heap offset of the greatest name
          kids.push_back(p.address(t));
        }
        for (auto it = kids.rbegin(); it != kids.rend(); ++it) {
          if (level > 0) {
            todo.emplace_back(*it, depth + 1);
            continue;
          }
          ByteReader s = p.at(*it, "symbol table node");
          if (s.bytes(4, "symbol node signature") != "SNOD") s.fail("bad symbol table node signature");
          s.skip(2, "symbol node version");
          const auto symbols = s.read<uint16_t>("symbol count");
          for (uint16_t k = 0; k < symbols; ++k) {
            const uint64_t name_offset = p.address(s);
            const uint64_t header = p.address(s);
            s.skip(8 + 16, "cache");
            out.emplace_back(name_at(name_offset), header);
            if (out.size() > kMaxChildren) s.fail("too many links in a group");
          }
        }
        if (todo.size() > kMaxChildren) t.fail("group B-tree too large");
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<Hdf5Attribute> Hdf5File::attributes(uint64_t object) const {
  Hdf5Parser p{*this};
  std::vector<Hdf5Attribute> out;
  for (const Message& m : messages(object)) {
    if (m.type == kAttributeInfo) continue;  // dense attribute storage: not read
    if (m.type != kAttribute) continue;
    ByteReader r(path(), m.data, m.size, m.address);
    const auto version = r.read<uint8_t>("attribute version");
    if (version < 1 || version > 3) r.fail("unsupported attribute version " + std::to_string(version));
    r.skip(1, "attribute flags");
    const auto name_size = r.read<uint16_t>("attribute name size");
    const auto type_size = r.read<uint16_t>("attribute datatype size");
    const auto space_size = r.read<uint16_t>("attribute dataspace size");
    if (version == 3) r.skip(1, "name charset");
    auto field = [&](uint64_t n) { return version == 1 ? align8(n) : n; };
    Hdf5Attribute a;
    const std::string_view raw_name = r.bytes(name_size, "attribute name");
    a.name = sanitize_utf8(raw_name.substr(0, raw_name.find('\0')));
    r.skip(field(name_size) - name_size, "attribute name padding");
    r.need(type_size, "attribute datatype");
    a.type = p.datatype(ByteReader(path(), r.here(), type_size, r.file_offset()));
    r.skip(std::min<uint64_t>(field(type_size), r.remaining()), "attribute datatype");
    r.need(space_size, "attribute dataspace");
    a.dims = p.dataspace(ByteReader(path(), r.here(), space_size, r.file_offset()));
    r.skip(std::min<uint64_t>(field(space_size), r.remaining()), "attribute dataspace");
    const auto numel = checked_numel(std::vector<int64_t>(a.dims.begin(), a.dims.end()));
    uint64_t bytes = 0;
    if (!numel || __builtin_mul_overflow(*numel, uint64_t{a.type.size}, &bytes)) r.fail("attribute size overflows");
    if (a.type.variable) {
      // Each element: length, then (collection address, object index) in a global heap.
      for (uint64_t e = 0; e < *numel && e < 100'000; ++e) {
        const auto length = r.read<uint32_t>("string length");
        const uint64_t collection = p.address(r);
        const auto index = r.read<uint32_t>("heap object index");
        a.variable_strings.push_back(global_heap_string(collection, index, length));
      }
    } else if ((a.type.cls == Hdf5Type::Class::String || a.type.dtype) && bytes <= r.remaining()) {
      const std::string_view d = r.bytes(bytes, "attribute data");
      a.data.assign(reinterpret_cast<const std::byte*>(d.data()), reinterpret_cast<const std::byte*>(d.data()) + d.size());
    }
    out.push_back(std::move(a));
  }
  return out;
}

namespace {

// Inverse of HDF5's shuffle filter: bytes were grouped by position.
std::vector<std::byte> unshuffle(const std::vector<std::byte>& in, std::size_t element) {
  if (element <= 1) return in;
  const std::size_t n = in.size() / element;
  std::vector<std::byte> out(in.size());
  for (std::size_t b = 0; b < element; ++b)
    for (std::size_t i = 0; i < n; ++i) out[i * element + b] = in[b * n + i];
  std::copy(in.begin() + static_cast<std::ptrdiff_t>(n * element), in.end(), out.begin() + static_cast<std::ptrdiff_t>(n * element));
  return out;
}

std::vector<std::byte> inflate_chunk(const std::string& path, const std::byte* data, uint64_t size, uint64_t limit) {
  std::vector<std::byte> out(static_cast<std::size_t>(limit));
  z_stream zs{};
  if (inflateInit(&zs) != Z_OK) throw FormatError(path, "cannot start inflating");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(data));
  zs.avail_in = static_cast<uInt>(size);
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int status = inflate(&zs, Z_FINISH);
  const uint64_t produced = zs.total_out;
  inflateEnd(&zs);
  if (status != Z_STREAM_END) throw FormatError(path, "corrupt deflated HDF5 chunk (or larger than the chunk size)");
  out.resize(static_cast<std::size_t>(produced));
  return out;
}

}  // namespace

std::optional<Hdf5Dataset> Hdf5File::dataset(uint64_t object) const {
  Hdf5Parser p{*this};
  const auto msgs = messages(object);
  const Message* layout = nullptr;
  const Message* space = nullptr;
  const Message* type = nullptr;
  const Message* filters = nullptr;
  for (const auto& m : msgs) {
    if (m.type == kLayout) layout = &m;
    if (m.type == kDataspace) space = &m;
    if (m.type == kDatatype) type = &m;
    if (m.type == kFilters) filters = &m;
  }
  if (!layout) return std::nullopt;
  if (!space || !type) throw FormatError(path(), "dataset without a dataspace or datatype");
  Hdf5Dataset d;
  d.type = p.datatype(ByteReader(path(), type->data, type->size, type->address));
  const auto dims = p.dataspace(ByteReader(path(), space->data, space->size, space->address));
  for (uint64_t dim : dims) {
    if (dim > uint64_t{INT64_MAX}) throw FormatError(path(), "dataset dimension too large");
    d.shape.push_back(static_cast<int64_t>(dim));
  }
  const auto numel = checked_numel(d.shape);
  uint64_t bytes = 0;
  if (!numel || __builtin_mul_overflow(*numel, uint64_t{d.type.size}, &bytes))
    throw FormatError(path(), "dataset shape overflows");

  ByteReader r(path(), layout->data, layout->size, layout->address);
  const auto version = r.read<uint8_t>("layout version");
  if (version != 3 && version != 4) r.fail("unsupported data layout version " + std::to_string(version));
  const auto cls = r.read<uint8_t>("layout class");
  if (cls == 0) {  // compact: the bytes are in the header
    const auto n = r.read<uint16_t>("compact size");
    r.need(n, "compact data");
    d.compact = true;
    d.offset = r.file_offset();
    d.size = n;
  } else if (cls == 1) {
    d.offset = p.address(r);
    d.size = p.length(r);
    if (d.offset == kUndefined) {  // never written: all fill value
      if (bytes > assembly_limit()) r.fail("unwritten dataset of " + std::to_string(bytes) + " bytes exceeds the assembly limit");
      d.assembled = owned_blob(path(), std::vector<std::byte>(static_cast<std::size_t>(bytes)));
      d.offset = 0;
      d.size = d.assembled->size();
    } else {
      uint64_t end = 0;
      if (__builtin_add_overflow(d.offset, base_, &d.offset) || __builtin_add_overflow(d.offset, d.size, &end) ||
          end > file_->size())
        r.fail("contiguous dataset [" + std::to_string(d.offset) + ", +" + std::to_string(d.size) + ") exceeds the file");
    }
  } else if (cls == 2) {
    if (version == 4) r.fail("chunked datasets of layout version 4 (HDF5 'latest' format) are not supported");
    const auto rank = r.read<uint8_t>("chunk rank");
    if (rank < 1 || rank > kMaxRank + 1 || rank != d.shape.size() + 1) r.fail("chunk rank does not match the dataspace");
    const uint64_t btree = p.address(r);
    std::vector<uint64_t> chunk(rank);
    for (auto& c : chunk) {
      c = r.read<uint32_t>("chunk dimension");
      if (c == 0) r.fail("zero chunk dimension");
    }
    const uint64_t element = chunk.back();
    if (element != d.type.size) r.fail("chunk element size differs from the datatype");
    uint64_t chunk_bytes = element;
    for (std::size_t i = 0; i + 1 < chunk.size(); ++i)
      if (__builtin_mul_overflow(chunk_bytes, chunk[i], &chunk_bytes)) r.fail("chunk size overflows");
    // Each chunk is inflated into a buffer of the full chunk size (found by fuzzing).
    if (chunk_bytes > assembly_limit()) r.fail("chunk of " + std::to_string(chunk_bytes) + " bytes exceeds the assembly limit");
    // Filters: deflate (1), shuffle (2), fletcher32 (3).
    std::vector<uint16_t> pipeline;
    if (filters) {
      ByteReader fr(path(), filters->data, filters->size, filters->address);
      const auto fversion = fr.read<uint8_t>("filter version");
      const auto count = fr.read<uint8_t>("filter count");
      if (fversion == 1) fr.skip(6, "reserved");
      for (uint8_t i = 0; i < count; ++i) {
        const auto id = fr.read<uint16_t>("filter id");
        uint16_t name_length = 0;
        if (fversion == 1 || id >= 256) name_length = fr.read<uint16_t>("filter name length");
        fr.skip(2, "filter flags");
        const auto values = fr.read<uint16_t>("filter value count");
        fr.skip(fversion == 1 ? align8(name_length) : name_length, "filter name");
        fr.skip(4ull * values + ((fversion == 1 && values % 2) ? 4 : 0), "filter values");
        if (id != 1 && id != 2 && id != 3) fr.fail("unsupported HDF5 filter " + std::to_string(id));
        pipeline.push_back(id);
      }
    }
    if (bytes > assembly_limit()) r.fail("chunked dataset of " + std::to_string(bytes) + " bytes exceeds the assembly limit");
    std::vector<std::byte> dense(static_cast<std::size_t>(bytes), std::byte{0});
    // Walk the chunk B-tree: each leaf entry's key gives the chunk's size,
    // filter mask and offset in each dimension.
    std::vector<std::pair<uint64_t, int>> todo;
    if (btree != kUndefined) todo.emplace_back(btree, 0);  // no B-tree: nothing written yet
    std::set<uint64_t> visited;
    uint64_t chunks = 0;
    const std::size_t n = d.shape.size();
    while (!todo.empty()) {
      const auto [node, depth] = todo.back();
      todo.pop_back();
      if (depth > kMaxBtreeDepth || !visited.insert(node).second) r.fail("chunk B-tree loops or is too deep");
      ByteReader t = p.at(node, "chunk B-tree node");
      if (t.bytes(4, "B-tree signature") != "TREE") t.fail("bad B-tree signature");
      if (t.read<uint8_t>("node type") != 1) t.fail("chunk B-tree of the wrong type");
      const auto level = t.read<uint8_t>("node level");
      const auto entries = t.read<uint16_t>("entries used");
      p.address(t);
      p.address(t);
      for (uint16_t e = 0; e < entries; ++e) {
        const auto stored = t.read<uint32_t>("chunk size");
        const auto mask = t.read<uint32_t>("filter mask");
        std::vector<uint64_t> origin(rank);
        for (auto& o : origin) o = t.read<uint64_t>("chunk offset");
        const uint64_t child = p.address(t);
        if (level > 0) {
          todo.emplace_back(child, depth + 1);
          continue;
        }
        if (++chunks > kMaxChunks) t.fail("too many chunks");
        ByteReader c = p.at(child, "chunk");
        c.need(stored, "chunk data");
        std::vector<std::byte> bytes_in(c.here(), c.here() + stored);
        for (std::size_t k = pipeline.size(); k-- > 0;) {
          if (mask & (1u << k)) continue;
          if (pipeline[k] == 1) bytes_in = inflate_chunk(path(), bytes_in.data(), bytes_in.size(), chunk_bytes);
          else if (pipeline[k] == 2) bytes_in = unshuffle(bytes_in, element);
          else if (pipeline[k] == 3) {
            if (bytes_in.size() < 4) t.fail("chunk too short for its checksum");
            bytes_in.resize(bytes_in.size() - 4);
          }
        }
        if (bytes_in.size() < chunk_bytes) t.fail("chunk holds fewer bytes than its size");
        // Copy the chunk's part inside the dataspace, row by row.
        for (std::size_t i = 0; i < n; ++i)
          if (origin[i] % chunk[i] || origin[i] >= static_cast<uint64_t>(d.shape[i])) t.fail("chunk offset out of range");
        if (n == 0) {
          std::memcpy(dense.data(), bytes_in.data(), std::min<std::size_t>(dense.size(), bytes_in.size()));
          continue;
        }
        std::vector<uint64_t> idx(n, 0);  // position inside the chunk (all dims but the last)
        const uint64_t row = std::min<uint64_t>(chunk[n - 1], static_cast<uint64_t>(d.shape[n - 1]) - origin[n - 1]);
        while (true) {
          bool inside = true;
          uint64_t src = 0, dst = 0;
          for (std::size_t i = 0; i < n; ++i) {
            const uint64_t pos = i + 1 < n ? idx[i] : 0;
            if (origin[i] + pos >= static_cast<uint64_t>(d.shape[i])) inside = false;
            src = src * chunk[i] + pos;
            dst = dst * static_cast<uint64_t>(d.shape[i]) + origin[i] + pos;
          }
          if (inside) std::memcpy(dense.data() + dst * element, bytes_in.data() + src * element, row * element);
          std::size_t i = n - 1;
          while (i-- > 0) {
            if (++idx[i] < chunk[i]) break;
            idx[i] = 0;
          }
          if (i == static_cast<std::size_t>(-1)) break;
        }
      }
    }
    d.assembled = owned_blob(path(), std::move(dense));
    d.offset = 0;
    d.size = d.assembled->size();
  } else {
    r.fail("unsupported data layout class " + std::to_string(cls));
  }
  if (d.size < bytes) throw FormatError(path(), "dataset holds " + std::to_string(d.size) + " bytes, its shape needs " + std::to_string(bytes));
  d.size = bytes;
  return d;
}

}  // namespace modeldna::io::detail
