// Hostile and broken ONNX, TFLite, TensorFlow.js and HDF5 files: each is
// refused with a one-line FormatError naming the file and the problem, and
// no claimed size is allocated before it is checked.
#include <filesystem>
#include <fstream>

#include "modeldna/core/error.h"
#include "modeldna/io/open_store.h"
#include "store_fixtures.h"
#include "test_support.h"

namespace modeldna::io {
namespace {

using testing::fixture;

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string write(const std::string& dir, const std::string& name, const std::string& bytes) {
  const std::string path = dir + "/" + name;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  modeldna::testing::write_bytes(path, bytes);
  return path;
}

void expect_refused(const std::string& path, const std::string& problem) {
  SCOPED_TRACE(path);
  EXPECT_THROW_MSG(open_store(path), FormatError, path + ": ");
  EXPECT_THROW_MSG(open_store(path), FormatError, problem);
}

// ------------------------------------------------------------- protobuf ----
std::string varint(uint64_t v) {
  std::string out;
  do {
    out += static_cast<char>((v & 0x7F) | (v > 0x7F ? 0x80 : 0));
    v >>= 7;
  } while (v);
  return out;
}
std::string field(int number, const std::string& payload) { return varint(uint64_t(number) << 3 | 2) + varint(payload.size()) + payload; }
std::string field_varint(int number, uint64_t v) { return varint(uint64_t(number) << 3) + varint(v); }

std::string tensor(const std::string& name, std::vector<uint64_t> dims, int type, const std::string& raw,
                   const std::string& extra = "") {
  std::string t;
  for (uint64_t d : dims) t += field_varint(1, d);
  return t + field_varint(2, type) + field(8, name) + (raw.empty() ? "" : field(9, raw)) + extra;
}
std::string model(const std::string& graph) { return field_varint(1, 8) + field(7, graph); }

TEST(BadOnnx, Refusals) {
  const std::string dir = modeldna::testing::fresh_temp_dir();
  expect_refused(write(dir, "truncated_varint.onnx", std::string("\x08\x08\x38\xff", 4)), "truncated: varint");
  expect_refused(write(dir, "long_varint.onnx", std::string("\x08\x08\x38") + std::string(10, '\xff') + "\x01"),
                 "varint");
  expect_refused(write(dir, "length.onnx", field_varint(1, 8) + "\x3a\xff\xff\xff\x0f"),
                 "truncated: length-delimited field 7");
  expect_refused(write(dir, "group.onnx", field_varint(1, 8) + "\x3b"), "unsupported wire type 3");
  expect_refused(write(dir, "no_graph.onnx", field_varint(1, 8)), "ONNX model without a graph");
  expect_refused(write(dir, "two_graphs.onnx", model("") + field(7, "")), "two graphs in one model");
  expect_refused(write(dir, "raw_size.onnx", model(field(5, tensor("w", {4}, 1, std::string(8, '\0'))))),
                 "tensor 'w': raw_data holds 8 bytes but F32 shape needs 16");
  expect_refused(write(dir, "negative_dim.onnx", model(field(5, tensor("w", {~uint64_t{0}}, 1, "")))),
                 "negative tensor dimension");
  expect_refused(write(dir, "many_dims.onnx", model(field(5, tensor("w", std::vector<uint64_t>(17, 1), 1, "")))),
                 "more than 16 dimensions");
  expect_refused(write(dir, "overflow.onnx", model(field(5, tensor("w", {uint64_t{1} << 40, uint64_t{1} << 40}, 1, "")))),
                 "shape overflows");
  expect_refused(write(dir, "typed_count.onnx", model(field(5, tensor("w", {3}, 6, "", field_varint(5, 1))))),
                 "holds 1 values for 3 elements");
  expect_refused(write(dir, "duplicate.onnx", model(field(5, tensor("w", {1}, 1, std::string(4, '\0'))) +
                                                    field(5, tensor("w", {1}, 1, std::string(4, '\0'))))),
                 "tensor 'w': duplicate tensor name");
  // Sub-graphs nested deeper than the limit.
  std::string graph = field(5, tensor("deep", {1}, 1, std::string(4, '\0')));
  for (int i = 0; i < 20; ++i) {
    const std::string attribute = field(1, "then_branch") + field(6, graph);
    graph = field(1, field(4, "If") + field(5, attribute));
  }
  expect_refused(write(dir, "deep.onnx", model(graph)), "sub-graphs nest deeper than 16");
}

TEST(BadOnnx, ExternalDataStaysInsideTheFolder) {
  const std::string dir = modeldna::testing::fresh_temp_dir();
  write(dir, "weights.bin", std::string(64, '\0'));
  auto external = [&](const std::string& location, uint64_t offset, uint64_t length) {
    auto kv = [](const std::string& k, const std::string& v) { return field(13, field(1, k) + field(2, v)); };
    return model(field(5, tensor("w", {4}, 1, "", kv("location", location) + kv("offset", std::to_string(offset)) +
                                                        kv("length", std::to_string(length)) + field_varint(14, 1))));
  };
  EXPECT_EQ(open_store(write(dir, "ok.onnx", external("weights.bin", 16, 16))).tensors().size(), 1u);
  expect_refused(write(dir, "escape.onnx", external("../weights.bin", 0, 16)), "it leaves the manifest's folder");
  expect_refused(write(dir, "absolute.onnx", external("/etc/passwd", 0, 16)), "absolute path");
  expect_refused(write(dir, "missing.onnx", external("gone.bin", 0, 16)), "external data 'gone.bin': cannot open file");
  expect_refused(write(dir, "length.onnx", external("weights.bin", 0, 12)), "external data length 12");
  EXPECT_THROW_MSG(open_store(write(dir, "past_end.onnx", external("weights.bin", 60, 16))), FormatError,
                   "past_end.onnx:weights.bin: tensor 'w': bytes [60, +16) exceed the 64-byte data");
}

TEST(BadOnnx, EveryTruncationEndsInAnErrorOrAShorterModel) {
  // Protobuf has no end marker: a cut between top-level fields is a valid,
  // smaller message. Anything else must be refused, never crash.
  const std::string bytes = read_all(fixture("small.onnx"));
  const std::string dir = modeldna::testing::fresh_temp_dir();
  int refused = 0;
  for (std::size_t n = 0; n < bytes.size(); n += 5) {
    try {
      open_store(write(dir, "cut.onnx", bytes.substr(0, n)));
    } catch (const FormatError&) {
      ++refused;
    }
  }
  EXPECT_GT(refused, static_cast<int>(bytes.size() / 5) * 9 / 10);
}

// ------------------------------------------------------------------ TFLite ----
TEST(BadTflite, Refusals) {
  const std::string dir = modeldna::testing::fresh_temp_dir();
  std::string bytes = read_all(fixture("model.tflite"));
  std::string bad_root = bytes;
  bad_root[0] = '\xF0';
  bad_root[1] = bad_root[2] = bad_root[3] = '\x7F';
  expect_refused(write(dir, "root.tflite", bad_root), "not a valid TFLite flatbuffer");
  for (std::size_t n = 8; n < bytes.size(); n += 3) {
    const std::string path = write(dir, "cut.tflite", bytes.substr(0, n));
    EXPECT_THROW(open_store(path), FormatError) << n;
  }
  expect_refused(fixture("bad/sparse_index.tflite"), "sparse tensor 's': index out of range");
  expect_refused(fixture("bad/sparse_segments.tflite"), "segments out of order or past the indices");
  expect_refused(fixture("bad/sparse_count.tflite"), "5 stored values but 2 positions");
}

// --------------------------------------------------------- TensorFlow.js ----
TEST(BadTfjs, Refusals) {
  const std::string dir = modeldna::testing::fresh_temp_dir();
  write(dir, "shard.bin", std::string(16, '\0'));
  auto manifest = [&](const std::string& name, const std::string& weights, const std::string& paths = R"(["shard.bin"])") {
    return write(dir, name, R"({"format": "graph-model", "weightsManifest": [{"paths": )" + paths +
                                R"(, "weights": [)" + weights + "]}]}");
  };
  EXPECT_EQ(open_store(manifest("ok.json", R"({"name": "w", "shape": [4], "dtype": "float32"})")).tensors().size(), 1u);
  expect_refused(manifest("short.json", R"({"name": "w", "shape": [8], "dtype": "float32"})"),
                 "weight 'w' needs bytes [0, +32) but the shards of weightsManifest[0] hold 16");
  expect_refused(manifest("escape.json", R"({"name": "w", "shape": [1], "dtype": "float32"})", R"(["../shard.bin"])"),
                 "it leaves the manifest's folder");
  expect_refused(manifest("missing.json", R"({"name": "w", "shape": [1], "dtype": "float32"})", R"(["nope.bin"])"),
                 "shard 'nope.bin': cannot open file");
  expect_refused(manifest("huge.json", R"({"name": "w", "shape": [1099511627776, 1099511627776], "dtype": "float32"})"),
                 "weight 'w' shape overflows");
  expect_refused(manifest("negative.json", R"({"name": "w", "shape": [-1], "dtype": "float32"})"), "is not a size");
  expect_refused(manifest("dtype.json", R"({"name": "w", "shape": [1], "dtype": "complex64"})"), "unknown dtype 'complex64'");
  expect_refused(manifest("string.json", R"({"name": "w", "shape": [1], "dtype": "string"})"), "is a string tensor");
  expect_refused(manifest("quant.json", R"({"name": "w", "shape": [1], "dtype": "float32", "quantization": {"dtype": "uint8"}})"),
                 "uint8 quantization needs scale and min");
  expect_refused(write(dir, "no_manifest.json", R"({"format": "graph-model", "modelTopology": {}})"),
                 "model.json has no weightsManifest array");
}

// ------------------------------------------------------------------ HDF5 ----
TEST(BadHdf5, Refusals) {
  expect_refused(fixture("bad/huge_shape.h5"), "chunked dataset of 4398046511104 bytes exceeds the assembly limit");
  expect_refused(fixture("bad/huge_contiguous.h5"), "unwritten dataset of 4398046511104 bytes exceeds the assembly limit");
  expect_refused(fixture("bad/szip_filter.h5"), "unsupported HDF5 filter 32000");
  // Found by fuzz_keras_h5: a small dataset whose chunk dimensions ask for a
  // gigantic inflate buffer.
  expect_refused(fixture("bad/huge_chunk.h5"), "chunk of 6755399038402560 bytes exceeds the assembly limit");
  const std::string dir = modeldna::testing::fresh_temp_dir();
  std::string bytes = read_all(fixture("keras2.h5"));
  std::string version = bytes;
  version[8] = '\x07';
  expect_refused(write(dir, "version.h5", version), "unsupported HDF5 superblock version 7");
  std::string sizes = bytes;
  sizes[13] = '\x03';
  expect_refused(write(dir, "sizes.h5", sizes), "HDF5 field size 3 is not 2, 4 or 8");
  int refused = 0, cuts = 0;
  for (std::size_t n = 0; n < bytes.size(); n += 11, ++cuts) {
    try {
      open_store(write(dir, "cut.h5", bytes.substr(0, n)));
    } catch (const FormatError&) {
      ++refused;
    }
  }
  EXPECT_EQ(refused, cuts);
}

}  // namespace
}  // namespace modeldna::io
