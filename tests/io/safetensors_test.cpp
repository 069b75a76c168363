#include "modeldna/io/safetensors.h"

#include <cstring>
#include <filesystem>
#include <utility>

#include "modeldna/core/error.h"
#include "modeldna/core/json_file.h"
#include "test_support.h"

namespace modeldna::io {
namespace {

std::string le64(uint64_t n) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out;
}

// A file: 8-byte header length, header, data buffer.
std::string file_bytes(const std::string& header, const std::string& data = "") {
  return le64(header.size()) + header + data;
}

std::string bytes_of(const TensorView& view) {
  return std::string(reinterpret_cast<const char*>(view.data), view.size_bytes);
}

template <typename T>
TensorToWrite tensor(std::string name, DType dtype, std::vector<int64_t> shape, const std::vector<T>& values) {
  return {std::move(name), dtype, std::move(shape), values.data(), values.size() * sizeof(T)};
}

TEST(Safetensors, DTypeNamesRoundTrip) {
  for (DType d : {DType::F64, DType::F32, DType::F16, DType::BF16, DType::I64, DType::I32, DType::I16, DType::I8,
                  DType::U8, DType::BOOL})
    EXPECT_EQ(parse_dtype(dtype_name(d)), d);
  EXPECT_EQ(dtype_size(DType::BF16), 2u);
  EXPECT_EQ(dtype_size(DType::I64), 8u);
  EXPECT_EQ(parse_safetensors_dtype("F8_E4M3"), DType::F8_E4M3);
  EXPECT_FALSE(parse_safetensors_dtype("Q4_K").has_value());
  EXPECT_FALSE(parse_safetensors_dtype("f32").has_value());
}

TEST(Safetensors, RoundTripsSeveralDTypesAndMetadata) {
  const std::string path = testing::fresh_temp_dir() + "/model.safetensors";
  const std::vector<float> weight{1.5f, -2.f, 3.f, 4.f, 5.f, 6.f};
  const std::vector<int64_t> steps{7, -8};
  const std::vector<uint16_t> half{0x3c00, 0xbc00, 0x0000};
  const std::vector<uint8_t> mask{1, 0, 1};
  const std::vector<int8_t> small{-1, 2};
  const std::vector<double> scalar{3.25};
  const std::vector<float> none;
  const std::vector<int32_t> ints{-5, 6};
  const std::vector<int16_t> shorts{-7};
  write_safetensors(path,
                    {tensor("fc.weight", DType::F32, {2, 3}, weight), tensor("step", DType::I64, {2}, steps),
                     tensor("empty", DType::F32, {0, 5}, none), tensor("half", DType::BF16, {3}, half),
                     tensor("mask", DType::BOOL, {3}, mask), tensor("small", DType::I8, {1, 2}, small),
                     tensor("scale", DType::F64, {}, scalar), tensor("f16", DType::F16, {1, 3}, half),
                     tensor("ints", DType::I32, {2}, ints), tensor("shorts", DType::I16, {1}, shorts)},
                    {{"format", "pt"}, {"source", "unit test"}});

  const SafetensorsFile file = SafetensorsFile::open(path);
  EXPECT_EQ(file.path(), path);
  EXPECT_EQ(file.metadata(), (std::map<std::string, std::string>{{"format", "pt"}, {"source", "unit test"}}));
  // Written in the given order, so the offset order is the same.
  std::vector<std::string> names;
  for (const TensorView& t : file.tensors()) names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"fc.weight", "step", "empty", "half", "mask", "small", "scale", "f16",
                                             "ints", "shorts"}));

  const TensorView& w = file.at("fc.weight");
  EXPECT_EQ(w.dtype, DType::F32);
  EXPECT_EQ(w.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(w.numel(), 6);
  EXPECT_EQ(bytes_of(w), std::string(reinterpret_cast<const char*>(weight.data()), 24));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(w.data) % 8, 0u);  // data buffer is 8-byte aligned
  EXPECT_EQ(bytes_of(file.at("step")), std::string(reinterpret_cast<const char*>(steps.data()), 16));
  EXPECT_EQ(file.at("half").dtype, DType::BF16);
  EXPECT_EQ(bytes_of(file.at("half")), std::string(reinterpret_cast<const char*>(half.data()), 6));
  EXPECT_EQ(bytes_of(file.at("mask")), std::string("\x01\x00\x01", 3));
  EXPECT_EQ(file.at("small").dtype, DType::I8);
  EXPECT_EQ(file.at("f16").dtype, DType::F16);
  EXPECT_EQ(file.at("f16").shape, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(bytes_of(file.at("ints")), std::string(reinterpret_cast<const char*>(ints.data()), 8));
  EXPECT_EQ(file.at("shorts").dtype, DType::I16);
  EXPECT_EQ(bytes_of(file.at("shorts")), std::string(reinterpret_cast<const char*>(shorts.data()), 2));

  const TensorView& scale = file.at("scale");
  EXPECT_TRUE(scale.shape.empty());
  EXPECT_EQ(scale.numel(), 1);
  double value = 0;
  ASSERT_EQ(scale.size_bytes, sizeof value);
  std::memcpy(&value, scale.data, sizeof value);
  EXPECT_EQ(value, 3.25);

  const TensorView& empty = file.at("empty");
  EXPECT_EQ(empty.numel(), 0);
  EXPECT_EQ(empty.size_bytes, 0u);
  EXPECT_EQ(empty.shape, (std::vector<int64_t>{0, 5}));
}

TEST(Safetensors, HeaderIsPaddedToAlignTheDataAndOmitsEmptyMetadata) {
  const std::string path = testing::fresh_temp_dir() + "/a.safetensors";
  const std::vector<uint8_t> one{9};
  write_safetensors(path, {tensor("x", DType::U8, {1}, one)});
  const std::string raw = read_file(path);
  ASSERT_GE(raw.size(), 8u);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(raw[i]);
  EXPECT_EQ((8 + n) % 8, 0u);
  EXPECT_EQ(raw.size(), 8 + n + 1);
  EXPECT_EQ(raw.find("__metadata__"), std::string::npos);
  EXPECT_EQ(raw.substr(8, 2), "{\"");
  EXPECT_FALSE(testing::temporary_left_beside(path));
}

// Byte-exact vectors from the reference implementation's own tests
// (safetensors/src/tensor.rs: test_serialization_forced_alignement, test_empty).
TEST(Safetensors, WritesTheSameBytesAsTheReference) {
  const std::string dir = testing::fresh_temp_dir();
  const std::vector<float> values{0.f, 1.f, 2.f, 3.f, 4.f, 5.f};
  write_safetensors(dir + "/one.safetensors", {tensor("attn0", DType::F32, {1, 1, 2, 3}, values)});
  const std::string header = R"({"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}})";
  EXPECT_EQ(read_file(dir + "/one.safetensors"),
            le64(72) + header + std::string(7, ' ') + std::string(reinterpret_cast<const char*>(values.data()), 24));

  write_safetensors(dir + "/empty.safetensors", {});
  EXPECT_EQ(read_file(dir + "/empty.safetensors"), le64(8) + "{}      ");
  write_safetensors(dir + "/meta.safetensors", {}, {{"framework", "pt"}});
  EXPECT_EQ(read_file(dir + "/meta.safetensors"), le64(40) + R"({"__metadata__":{"framework":"pt"}})" + "     ");
  EXPECT_EQ(SafetensorsFile::open(dir + "/meta.safetensors").metadata().at("framework"), "pt");
}

TEST(Safetensors, EmptyFileRoundTrips) {
  const std::string path = testing::fresh_temp_dir() + "/empty.safetensors";
  write_safetensors(path, {});
  const SafetensorsFile file = SafetensorsFile::open(path);
  EXPECT_TRUE(file.tensors().empty());
  EXPECT_TRUE(file.metadata().empty());
  EXPECT_EQ(file.find("x"), nullptr);
}

TEST(Safetensors, OnlyZeroSizeTensorsNeedNoDataBuffer) {
  const std::string path = testing::fresh_temp_dir() + "/zeros.safetensors";
  testing::write_bytes(path, file_bytes(R"({"b":{"dtype":"F16","shape":[0],"data_offsets":[0,0]},)"
                                        R"("a":{"dtype":"I32","shape":[3,0],"data_offsets":[0,0]}})"));
  const SafetensorsFile file = SafetensorsFile::open(path);
  ASSERT_EQ(file.tensors().size(), 2u);
  EXPECT_EQ(file.tensors()[0].name, "a");  // same offset: name order
  EXPECT_EQ(file.at("b").size_bytes, 0u);
}

TEST(Safetensors, ReadsAHandwrittenFileWithTrailingSpacesAndUnsortedOffsets) {
  const std::string path = testing::fresh_temp_dir() + "/hand.safetensors";
  testing::write_bytes(path, file_bytes(R"({"__metadata__":{"format":"pt"},)"
                                        R"("b":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                                        R"("a":{"dtype":"I16","shape":[1],"data_offsets":[2,4]}}   )",
                                        "\x01\x02\x03\x04"));
  const SafetensorsFile file = SafetensorsFile::open(path);
  ASSERT_EQ(file.tensors().size(), 2u);
  EXPECT_EQ(file.tensors()[0].name, "b");
  EXPECT_EQ(file.tensors()[1].name, "a");
  EXPECT_EQ(bytes_of(file.at("a")), "\x03\x04");
  EXPECT_EQ(file.metadata().at("format"), "pt");
}

TEST(Safetensors, MovedFileKeepsItsViews) {
  const std::string path = testing::fresh_temp_dir() + "/m.safetensors";
  const std::vector<int32_t> values{1, 2, 3};
  write_safetensors(path, {tensor("v", DType::I32, {3}, values)});
  SafetensorsFile first = SafetensorsFile::open(path);
  const std::byte* data = first.at("v").data;
  SafetensorsFile second = std::move(first);
  EXPECT_EQ(second.at("v").data, data);
  SafetensorsFile third = SafetensorsFile::open(path);
  third = std::move(second);
  EXPECT_EQ(bytes_of(third.at("v")), std::string(reinterpret_cast<const char*>(values.data()), 12));
}

TEST(Safetensors, AtNamesTheFileAndTheTensor) {
  const std::string path = testing::fresh_temp_dir() + "/e.safetensors";
  write_safetensors(path, {});
  const SafetensorsFile file = SafetensorsFile::open(path);
  EXPECT_THROW_MSG(file.at("fc.bias"), FormatError, "e.safetensors: no tensor named 'fc.bias'");
}

TEST(Safetensors, MissingFile) {
  EXPECT_THROW_MSG(SafetensorsFile::open("/nonexistent/x.safetensors"), FormatError,
                   "/nonexistent/x.safetensors: cannot open file");
}

TEST(Safetensors, DirectoryIsNotAFile) {
  const std::string dir = testing::fresh_temp_dir();
  EXPECT_THROW_MSG(SafetensorsFile::open(dir), FormatError, "not a regular file");
}

TEST(Safetensors, WriterRejectsBadInput) {
  const std::string path = testing::fresh_temp_dir() + "/w.safetensors";
  const std::vector<float> four(4, 0.f);
  EXPECT_THROW_MSG(write_safetensors(path, {tensor("a", DType::F32, {4}, four), tensor("a", DType::F32, {4}, four)}),
                   UsageError, "tensor 'a': duplicate name");
  EXPECT_THROW_MSG(write_safetensors(path, {tensor("a", DType::F32, {3}, four)}), UsageError,
                   "16 bytes given, dtype x shape needs 12");
  EXPECT_THROW_MSG(write_safetensors(path, {tensor("a", DType::F64, {4}, four)}), UsageError, "needs 32");
  EXPECT_THROW_MSG(write_safetensors(path, {tensor("a", DType::F32, {-1, -4}, four)}), UsageError,
                   "negative dimension -1");
  EXPECT_THROW_MSG(write_safetensors(path, {tensor("__metadata__", DType::F32, {4}, four)}), UsageError, "reserved");
  EXPECT_THROW_MSG(write_safetensors(path, {tensor("a", DType::U8, {1ll << 40, 1ll << 40}, four)}), UsageError,
                   "overflows");
  EXPECT_THROW_MSG(write_safetensors(path, {tensor("\xff", DType::F32, {4}, four)}), UsageError, "UTF-8");
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(testing::temporary_left_beside(path));
}

// Handcrafted broken files: each must be refused with a FormatError naming the
// file and the problem.
struct BadFile {
  const char* name;
  std::string bytes;
  std::string problem;
};

std::string entry(const std::string& name, const std::string& dtype, const std::string& shape,
                  const std::string& offsets) {
  return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}";
}

const BadFile kBadFiles[] = {
    {"empty", "", "file too short: 0 bytes"},
    {"seven_bytes", std::string(7, '\0'), "file too short: 7 bytes"},
    {"zero_header", le64(0), "invalid JSON header"},
    {"header_beyond_file", le64(1000) + "{}", "header length 1000 exceeds file size 10"},
    {"header_just_beyond_file", le64(3) + "{}", "header length 3 exceeds file size 10"},
    {"huge_header", le64(1ull << 60) + "{}", "header length 1152921504606846976 exceeds the limit"},
    {"header_over_limit", le64(kMaxHeaderBytes + 1) + "{}", "exceeds the limit of 104857600 bytes"},
    {"invalid_json", file_bytes("{\"a\": "), "invalid JSON header"},
    {"not_utf8", file_bytes("{\"\xff\":{}}"), "invalid JSON header"},
    {"nul_padding", file_bytes(std::string("{}\0\0", 4)), "invalid JSON header: it contains a NUL byte"},
    {"array_header", file_bytes("[1, 2]"), "JSON header is not an object"},
    {"number_header", file_bytes("42"), "JSON header is not an object"},
    {"entry_not_object", file_bytes("{\"x\": [1]}"), "tensor 'x': entry is not a JSON object"},
    {"unknown_dtype", file_bytes("{" + entry("x", "F8", "[1]", "[0,1]") + "}", "a"), "tensor 'x': unknown dtype 'F8'"},
    {"dtype_not_string", file_bytes(R"({"x":{"dtype":4,"shape":[1],"data_offsets":[0,4]}})", "abcd"),
     "tensor 'x': dtype is not a string"},
    {"missing_shape", file_bytes(R"({"x":{"dtype":"F32","data_offsets":[0,4]}})", "abcd"), "tensor 'x': missing 'shape'"},
    {"extra_key", file_bytes(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"z":1}})", "abcd"),
     "tensor 'x': unexpected key 'z'"},
    {"shape_mismatch", file_bytes("{" + entry("x", "F32", "[2,2]", "[0,12]") + "}", std::string(12, 'a')),
     "tensor 'x': data_offsets [0, 12] hold 12 bytes but F32 shape [2,2] needs 16"},
    {"negative_shape", file_bytes("{" + entry("x", "U8", "[-2,-2]", "[0,4]") + "}", "abcd"),
     "tensor 'x': negative shape entry -2"},
    {"float_shape", file_bytes("{" + entry("x", "U8", "[2.0]", "[0,2]") + "}", "ab"), "shape entry 2.0 is not an integer"},
    {"shape_not_array", file_bytes("{" + entry("x", "U8", "2", "[0,2]") + "}", "ab"), "shape is not an array"},
    {"shape_overflow",
     file_bytes("{" + entry("x", "U8", "[4294967296,4294967296,4294967296]", "[0,0]") + "}"),
     "tensor 'x': shape [4294967296,4294967296,4294967296] overflows the element count"},
    {"shape_bytes_overflow", file_bytes("{" + entry("x", "F64", "[2305843009213693952]", "[0,0]") + "}"),
     "overflows the element count"},
    {"shape_entry_too_big", file_bytes("{" + entry("x", "U8", "[9223372036854775808]", "[0,0]") + "}"),
     "overflows the element count"},
    {"offsets_out_of_range", file_bytes("{" + entry("x", "U8", "[8]", "[0,8]") + "}", "abcd"),
     "tensor 'x': data_offsets [0, 8] exceed the data buffer (4 bytes)"},
    {"offsets_reversed", file_bytes("{" + entry("x", "U8", "[0]", "[4,0]") + "}", "abcd"), "end before they begin"},
    {"offsets_negative", file_bytes("{" + entry("x", "U8", "[1]", "[-1,0]") + "}", "a"),
     "is not a pair of unsigned integers"},
    {"offsets_triple", file_bytes("{" + entry("x", "U8", "[1]", "[0,1,1]") + "}", "a"),
     "is not a pair of unsigned integers"},
    {"overlap",
     file_bytes("{" + entry("fc.bias", "F32", "[2]", "[0,8]") + "," + entry("fc.weight", "F32", "[3]", "[4,16]") + "}",
                std::string(16, 'a')),
     "tensor 'fc.weight': data_offsets [4, 16] overlap tensor 'fc.bias'"},
    {"zero_size_inside_other",
     file_bytes("{" + entry("a", "U8", "[4]", "[0,4]") + "," + entry("z", "U8", "[0]", "[2,2]") + "}", "abcd"),
     "tensor 'z': data_offsets [2, 2] overlap tensor 'a'"},
    {"hole",
     file_bytes("{" + entry("a", "U8", "[2]", "[0,2]") + "," + entry("b", "U8", "[2]", "[4,6]") + "}", "abcdef"),
     "tensor 'b': data_offsets [4, 6] leave a hole of 2 bytes after tensor 'a'"},
    {"hole_at_start", file_bytes("{" + entry("a", "U8", "[2]", "[2,4]") + "}", "abcd"),
     "leave a hole of 2 bytes at the start of the data"},
    {"trailing_data", file_bytes("{" + entry("a", "U8", "[2]", "[0,2]") + "}", "abcd"),
     "2 bytes at the end of the data buffer belong to no tensor"},
    {"data_but_no_tensors", file_bytes("{}", "abcd"), "4 bytes at the end of the data buffer belong to no tensor"},
    {"truncated_data", file_bytes("{" + entry("a", "F32", "[4]", "[0,16]") + "}", "abcdefgh"),
     "tensor 'a': data_offsets [0, 16] exceed the data buffer (8 bytes)"},
    {"duplicate_tensor",
     file_bytes("{" + entry("a", "U8", "[1]", "[0,1]") + "," + entry("a", "U8", "[1]", "[0,1]") + "}", "a"),
     "duplicate tensor name 'a'"},
    {"duplicate_field", file_bytes(R"({"a":{"dtype":"U8","dtype":"U8","shape":[1],"data_offsets":[0,1]}})", "a"),
     "duplicate JSON key 'dtype'"},
    {"duplicate_metadata_key", file_bytes(R"({"__metadata__":{"k":"1","k":"2"}})"), "duplicate JSON key 'k'"},
    {"metadata_not_object", file_bytes(R"({"__metadata__":["a"]})"), "__metadata__ is not a JSON object"},
    {"metadata_value_not_string", file_bytes(R"({"__metadata__":{"epochs":3}})"),
     "__metadata__ value for key 'epochs' is not a string"},
    {"too_deep", file_bytes(R"({"a":{"dtype":"U8","shape":[[1]],"data_offsets":[0,1]}})", "a"), "nests deeper"},
    {"very_deep", file_bytes(std::string(100000, '[') + std::string(100000, ']')), "nests deeper"},
    {"long_name_is_cut", file_bytes("{" + entry(std::string(200, 'n'), "F8", "[1]", "[0,1]") + "}", "a"),
     "tensor '" + std::string(80, 'n') + "...': unknown dtype"},
    {"control_chars_in_name", file_bytes("{" + entry("a\\nb", "F8", "[1]", "[0,1]") + "}", "a"),
     "tensor 'a?b': unknown dtype"},
};

class SafetensorsBadFile : public ::testing::TestWithParam<BadFile> {};

TEST_P(SafetensorsBadFile, IsRejectedWithFileAndProblem) {
  const BadFile& bad = GetParam();
  const std::string path = testing::fresh_temp_dir() + "/" + bad.name + ".safetensors";
  testing::write_bytes(path, bad.bytes);
  EXPECT_THROW_MSG(SafetensorsFile::open(path), FormatError, path + ": ");
  EXPECT_THROW_MSG(SafetensorsFile::open(path), FormatError, bad.problem);
}

INSTANTIATE_TEST_SUITE_P(Handcrafted, SafetensorsBadFile, ::testing::ValuesIn(kBadFiles),
                         [](const ::testing::TestParamInfo<BadFile>& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace modeldna::io
