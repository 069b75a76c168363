// Hand-crafted hostile and broken files for the zip, pickle and GGUF readers:
// each must be refused with a one-line FormatError naming the file and the
// problem, never crash, never allocate what a header merely claims.
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "modeldna/core/error.h"
#include "modeldna/io/open_store.h"
#include "store_fixtures.h"
#include "test_support.h"

namespace modeldna::io {
namespace {

// The bytes of a string literal, embedded NULs included; the length comes
// from the literal itself (hand-counted lengths read past the end of three).
template <std::size_t N>
std::string literal_bytes(const char (&literal)[N]) {
  return std::string(literal, N - 1);
}

using testing::fixture;

std::string le16(uint16_t v) { return std::string{static_cast<char>(v & 0xff), static_cast<char>(v >> 8)}; }
std::string le32(uint32_t v) { return le16(static_cast<uint16_t>(v)) + le16(static_cast<uint16_t>(v >> 16)); }
std::string le64(uint64_t v) { return le32(static_cast<uint32_t>(v)) + le32(static_cast<uint32_t>(v >> 32)); }

struct ZipFile {
  std::string name, data;
  bool deflate = false;
  uint32_t declared_size = UINT32_MAX;  // override the uncompressed size
  uint16_t flags = 0;
  uint16_t method_override = UINT16_MAX;
};

std::string raw_deflate(const std::string& in) {
  z_stream zs{};
  deflateInit2(&zs, 9, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, in.size()) + 16, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// A minimal zip writer, stored or deflated entries.
std::string zip_bytes(const std::vector<ZipFile>& files) {
  std::string body, directory;
  for (const auto& f : files) {
    const std::string payload = f.deflate ? raw_deflate(f.data) : f.data;
    const uint16_t method = f.method_override != UINT16_MAX ? f.method_override : (f.deflate ? 8 : 0);
    const uint32_t crc = static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(f.data.data()), static_cast<uInt>(f.data.size())));
    const uint32_t usize = f.declared_size != UINT32_MAX ? f.declared_size : static_cast<uint32_t>(f.data.size());
    const uint32_t offset = static_cast<uint32_t>(body.size());
    body += le32(0x04034b50) + le16(20) + le16(f.flags) + le16(method) + le32(0) + le32(crc) +
            le32(static_cast<uint32_t>(payload.size())) + le32(usize) + le16(static_cast<uint16_t>(f.name.size())) +
            le16(0) + f.name + payload;
    directory += le32(0x02014b50) + le16(20) + le16(20) + le16(f.flags) + le16(method) + le32(0) + le32(crc) +
                 le32(static_cast<uint32_t>(payload.size())) + le32(usize) + le16(static_cast<uint16_t>(f.name.size())) +
                 le16(0) + le16(0) + le16(0) + le16(0) + le32(0) + le32(offset) + f.name;
  }
  const uint32_t dir_offset = static_cast<uint32_t>(body.size());
  return body + directory + le32(0x06054b50) + le16(0) + le16(0) + le16(static_cast<uint16_t>(files.size())) +
         le16(static_cast<uint16_t>(files.size())) + le32(static_cast<uint32_t>(directory.size())) + le32(dir_offset) +
         le16(0);
}

// A torch.save-style archive around a pickle program.
std::string torch_zip(const std::string& pickle, std::vector<ZipFile> extra = {}) {
  std::vector<ZipFile> files = {{"archive/data.pkl", pickle}, {"archive/byteorder", "little"}};
  files.insert(files.end(), extra.begin(), extra.end());
  return zip_bytes(files);
}

std::string write(const std::string& name, const std::string& bytes) {
  const std::string path = modeldna::testing::fresh_temp_dir() + "/" + name;
  modeldna::testing::write_bytes(path, bytes);
  return path;
}

void expect_refused(const std::string& name, const std::string& bytes, const std::string& problem) {
  SCOPED_TRACE(name);
  const std::string path = write(name, bytes);
  EXPECT_THROW_MSG(open_store(path), FormatError, problem);
  try {
    open_store(path);
  } catch (const FormatError& e) {
    EXPECT_EQ(e.path().rfind(path, 0), 0u) << e.what();  // names the file
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();  // one line
  }
}

// One float tensor of 4 values: the pickle torch.save writes for it.
const std::string kTensorPickle = literal_bytes("\x80\x02" "ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\nFloatStorage\n"
    "X\x01\x00\x00\x00" "0X\x03\x00\x00\x00" "cpuK\x04tQK\x00K\x04\x85K\x01\x85\x89" "ctorch\nSize\n)RtR.");

TEST(BadZip, ValidHandwrittenArchiveIsRead) {
  const auto store = open_store(write("ok.pt", torch_zip(kTensorPickle, {{"archive/data/0", std::string(16, '\0')}})));
  EXPECT_EQ(store.tensors().size(), 1u);
  EXPECT_EQ(store.tensors()[0].shape, (std::vector<int64_t>{4}));
}

TEST(BadZip, DeflatedStorageIsInflated) {
  const std::string floats("\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40\x00\x00\x80\x40", 16);
  ZipFile storage{"archive/data/0", floats, true};
  const auto store = open_store(write("deflated.pt", torch_zip(kTensorPickle, {storage})));
  EXPECT_EQ(store.read_f32(store.tensors()[0]), (std::vector<float>{1, 2, 3, 4}));
}

TEST(BadZip, Refusals) {
  const std::string storage(16, '\0');
  expect_refused("traversal.pt", torch_zip(kTensorPickle, {{"../../etc/passwd", storage}}), "path traversal");
  expect_refused("absolute.pt", torch_zip(kTensorPickle, {{"/etc/passwd", storage}}), "absolute path");
  expect_refused("duplicate.pt", torch_zip(kTensorPickle, {{"archive/byteorder", "little"}}), "duplicate zip entry");
  ZipFile encrypted{"archive/data/0", storage};
  encrypted.flags = 1;
  expect_refused("encrypted.pt", torch_zip(kTensorPickle, {encrypted}), "is encrypted");
  ZipFile bzip{"archive/data/0", storage};
  bzip.method_override = 12;
  expect_refused("bzip2.pt", torch_zip(kTensorPickle, {bzip}), "compression method 12");
  // A bomb: 1 MB of zeros declared as 16 bytes.
  ZipFile bomb{"archive/data/0", std::string(1 << 20, '\0'), true};
  bomb.declared_size = 16;
  expect_refused("bomb.pt", torch_zip(kTensorPickle, {bomb}), "corrupt deflate data (or larger than its declared 16 bytes)");
  ZipFile huge{"archive/data/0", "x", true};
  huge.declared_size = 0xFFFFFFFE;  // within ZIP32, above the inflate limit
  expect_refused("huge.pt", torch_zip(kTensorPickle, {huge}), "exceeds the inflate limit");
  // Under the limit, but more than 3 compressed bytes can ever inflate to.
  ZipFile inflated{"archive/data/0", "x", true};
  inflated.declared_size = 1u << 30;
  expect_refused("overdeclared.pt", torch_zip(kTensorPickle, {inflated}),
                 "declares 1073741824 bytes from 3 compressed bytes, more than deflate can expand to");
  std::string archive = torch_zip(kTensorPickle, {{"archive/data/0", storage}});
  expect_refused("no_end.pt", archive.substr(0, archive.size() - 22), "no zip end-of-central-directory record");
  std::string bad_offset = archive;
  bad_offset.replace(bad_offset.size() - 6, 4, le32(0x7FFFFFF0));
  expect_refused("dir_outside.pt", bad_offset, "central directory");
  expect_refused("no_pickle.pt", zip_bytes({{"weights/x", "1"}}),
                 "a zip archive that is neither a PyTorch checkpoint nor a .keras model");
}

TEST(BadZip, EveryTruncationIsRefused) {
  std::ifstream in(fixture("state_dict.pt"), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (std::size_t n = 0; n < bytes.size(); n += 7) {
    const std::string path = write("cut.pt", bytes.substr(0, n));
    EXPECT_THROW(open_store(path), FormatError) << n;
  }
}

TEST(BadPickle, Refusals) {
  const ZipFile storage{"archive/data/0", std::string(16, '\0')};
  auto refused = [&](const std::string& name, const std::string& pickle, const std::string& problem) {
    expect_refused(name, torch_zip(pickle, {storage}), problem);
  };
  refused("underflow.pt", std::string("\x80\x02" "0.", 4), "stack underflow");
  refused("memo.pt", std::string("\x80\x02h\x05.", 5), "memo key 5 was never stored");
  refused("opcode.pt", std::string("\x80\x02\xff.", 4), "unknown opcode 0xff");
  refused("protocol.pt", std::string("\x80\x09N.", 4), "pickle protocol 9");
  refused("no_stop.pt", std::string("\x80\x02N", 3), "truncated");
  refused("two_values.pt", std::string("\x80\x02NN.", 5), "ends with 2 values on the stack");
  refused("ext.pt", std::string("\x80\x02\x82\x01.", 5), "EXT opcodes");
  refused("obj.pt", std::string("\x80\x02(o.", 5), "OBJ is not allowed");
  refused("newobj.pt", literal_bytes("\x80\x02" "ccollections\nOrderedDict\n)\x81."), "NEWOBJ of 'collections.OrderedDict'");
  refused("long.pt", std::string("\x80\x02\x8a\x09" "123456789.", 14), "integer of 9 bytes is too large");
  refused("huge_string.pt", std::string("\x80\x02X\xff\xff\xff\x7f.", 8), "truncated");
  refused("persid.pt", std::string("\x80\x02" "Pfoo\n.", 8), "text persistent ids");
  refused("bad_persid.pt", std::string("\x80\x02" "NQ.", 5), "persistent id is not a 5-tuple");
  refused("subprocess.pt", std::string("\x80\x02" "csubprocess\ncall\n.", 20), "pickle asks for 'subprocess.call'");
  refused("nt.pt", std::string("\x80\x02" "cnt\nsystem\n.", 14), "pickle asks for 'nt.system'");
  refused("getattr.pt", std::string("\x80\x02" "cbuiltins\ngetattr\n.", 21), "pickle asks for 'builtins.getattr'");
  // A tensor over a storage that is not one.
  refused("not_storage.pt", literal_bytes("\x80\x02" "ctorch._utils\n_rebuild_tensor_v2\n(NK\x00K\x04\x85K\x01\x85\x89NtR."),
          "tensor rebuilt from something that is not a storage");
}

TEST(BadPickle, DeepNestingIsRefusedAndCyclesEnd) {
  const ZipFile storage{"archive/data/0", std::string(16, '\0')};
  // 100 nested lists: the walker stops at its depth limit.
  std::string deep = "\x80\x02";
  for (int i = 0; i < 100; ++i) deep += "]";
  for (int i = 0; i < 99; ++i) deep += "a";
  deep += ".";
  expect_refused("deep.pt", torch_zip(deep, {storage}), "pickle nests deeper than 32 levels");
  // A list containing itself: read once, no tensors, no hang.
  const std::string cycle("\x80\x02]q\x00h\x00" "a.", 9);
  EXPECT_TRUE(open_store(write("cycle.pt", torch_zip(cycle, {storage}))).tensors().empty());
}

// ------------------------------------------------------------------ GGUF ----
std::string gguf_string(const std::string& s) { return le64(s.size()) + s; }

struct GgufTensor {
  std::string name;
  std::vector<uint64_t> ne;  // innermost first, as stored
  uint32_t type = 0;         // F32
  uint64_t offset = 0;
};

std::string gguf(uint32_t version, const std::string& kvs, uint64_t kv_count, const std::vector<GgufTensor>& tensors,
                 const std::string& data, uint64_t tensor_count = UINT64_MAX) {
  std::string out = "GGUF" + le32(version) + le64(tensor_count == UINT64_MAX ? tensors.size() : tensor_count) +
                    le64(kv_count) + kvs;
  for (const auto& t : tensors) {
    out += gguf_string(t.name) + le32(static_cast<uint32_t>(t.ne.size()));
    for (uint64_t d : t.ne) out += le64(d);
    out += le32(t.type) + le64(t.offset);
  }
  out.append((32 - out.size() % 32) % 32, '\0');
  return out + data;
}

TEST(BadGguf, ValidHandwrittenFileIsRead) {
  const auto store = open_store(write("ok.gguf", gguf(3, "", 0, {{"w", {2, 3}}}, std::string(24, '\0'))));
  EXPECT_EQ(store.find("w")->shape, (std::vector<int64_t>{3, 2}));
}

TEST(BadGguf, Refusals) {
  const std::string f32x6(24, '\0');
  const std::string kv = gguf_string("general.name") + le32(8) + gguf_string("x");
  expect_refused("magic.gguf", "GGUX" + std::string(100, '\0'), "not a model file");
  expect_refused("v1.gguf", gguf(1, "", 0, {}, ""), "GGUF version 1");
  expect_refused("v9.gguf", gguf(9, "", 0, {}, ""), "unsupported GGUF version 9");
  expect_refused("big_endian.gguf", gguf(0x03000000, "", 0, {}, ""), "big-endian GGUF");
  expect_refused("tensors.gguf", gguf(3, "", 0, {}, "", uint64_t{1} << 60), "tensors exceed the limit");
  expect_refused("kvs.gguf", gguf(3, "", uint64_t{1} << 60, {}, ""), "metadata entries exceed the limit");
  expect_refused("kv_missing.gguf", gguf(3, "", 1, {}, ""), "truncated");
  expect_refused("string.gguf", gguf(3, le64(uint64_t{1} << 62), 1, {}, ""), "exceeds the limit");
  expect_refused("value_type.gguf", gguf(3, gguf_string("k") + le32(99), 1, {}, ""), "unknown value type 99");
  expect_refused("array.gguf", gguf(3, gguf_string("k") + le32(9) + le32(0) + le64(uint64_t{1} << 40), 1, {}, ""),
                 "array of 1099511627776 items exceeds the limit");
  expect_refused("nested.gguf", gguf(3, gguf_string("k") + le32(9) + le32(9) + le64(1), 1, {}, ""), "arrays of arrays");
  expect_refused("bool.gguf", gguf(3, gguf_string("k") + le32(7) + "\x05", 1, {}, ""), "bool value 5");
  expect_refused("dup_key.gguf", gguf(3, kv + kv, 2, {}, ""), "duplicate metadata key 'general.name'");
  expect_refused("alignment.gguf", gguf(3, gguf_string("general.alignment") + le32(4) + le32(24), 1, {}, ""),
                 "is not a power of two");
  expect_refused("dims.gguf", gguf(3, "", 0, {{"w", std::vector<uint64_t>(9, 1)}}, ""), "has 9 dimensions");
  expect_refused("overflow.gguf", gguf(3, "", 0, {{"w", {uint64_t{1} << 40, uint64_t{1} << 40}}}, ""), "shape overflows");
  expect_refused("type.gguf", gguf(3, "", 0, {{"w", {256}, 16}}, ""), "unsupported type IQ2_XXS (ggml type 16)");
  expect_refused("rows.gguf", gguf(3, "", 0, {{"w", {48, 2}, 8}}, ""), "rows of 48 values are not whole Q8_0 blocks");
  expect_refused("misaligned.gguf", gguf(3, "", 0, {{"w", {2, 3}, 0, 4}}, f32x6), "is not aligned to 32");
  expect_refused("outside.gguf", gguf(3, "", 0, {{"w", {2, 3}}}, std::string(20, '\0')), "exceeds the 20-byte data section");
  expect_refused("overlap.gguf", gguf(3, "", 0, {{"a", {16}}, {"b", {16}, 0, 32}}, std::string(96, '\0')),
                 "overlaps the tensor before it");
  expect_refused("dup_tensor.gguf", gguf(3, "", 0, {{"w", {2}}, {"w", {2}, 0, 32}}, std::string(64, '\0')),
                 "duplicate tensor name 'w'");
  expect_refused("bad_utf8.gguf", gguf(3, "", 0, {{"w\xff", {2}}}, std::string(32, '\0')), "is not valid UTF-8");
}

TEST(BadGguf, EveryTruncationIsRefused) {
  std::ifstream in(fixture("all_types.gguf"), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The last 32 bytes may be padding after the last tensor, which no reader needs.
  for (std::size_t n = 0; n + 32 < bytes.size(); n += 3) {
    const std::string path = write("cut.gguf", bytes.substr(0, n));
    EXPECT_THROW(open_store(path), FormatError) << n;
  }
}

}  // namespace
}  // namespace modeldna::io
