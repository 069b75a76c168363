// GGUF written by modeldna (io/gguf_writer.h, io/convert.h) against what
// llama.cpp's own tools wrote for the same model (tests/compare/fixtures/llama).
#include "modeldna/io/gguf_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "modeldna/core/error.h"
#include "modeldna/io/convert.h"
#include "modeldna/io/dequantize.h"
#include "modeldna/io/open_store.h"
#include "test_support.h"

namespace modeldna::io {
namespace {

std::string llama_file(const std::string& name) {
  return std::string(MODELDNA_SOURCE_DIR) + "/tests/compare/fixtures/llama/" + name;
}

TEST(GgufWriter, Q8ZeroRoundsHalfAwayFromZeroWithAHalfScale) {
  std::vector<float> block(32, 0.0f);
  block[0] = 127.0f;  // d = 1
  block[1] = 2.5f;
  block[2] = -2.5f;
  block[3] = 0.49f;
  const auto q = quantize_q8_0(block);
  ASSERT_EQ(q.size(), 34u);
  EXPECT_EQ(f16_to_f32(static_cast<uint16_t>(q[0] | (q[1] << 8))), 1.0f);
  EXPECT_EQ(static_cast<int8_t>(q[2]), 127);
  EXPECT_EQ(static_cast<int8_t>(q[3]), 3);
  EXPECT_EQ(static_cast<int8_t>(q[4]), -3);
  EXPECT_EQ(static_cast<int8_t>(q[5]), 0);
  // An all-zero block: scale 0, codes 0.
  const auto zeros = quantize_q8_0(std::vector<float>(32, 0.0f));
  for (uint8_t b : zeros) EXPECT_EQ(b, 0);
  // Dequantized, every value is within half a step of the original.
  std::vector<float> ramp(64);
  for (std::size_t i = 0; i < ramp.size(); ++i) ramp[i] = std::sin(static_cast<float>(i)) * 0.03f;
  const auto coded = quantize_q8_0(ramp);
  std::vector<float> back(ramp.size());
  to_f32(DType::Q8_0, reinterpret_cast<const std::byte*>(coded.data()), ramp.size(), back.data());
  for (std::size_t i = 0; i < ramp.size(); ++i) EXPECT_NEAR(back[i], ramp[i], 0.03 / 127 * 0.51 + 1e-6) << i;
}

// Every tensor of `ours` equal to `theirs`: names in order, dtypes, shapes
// and bytes; and the llama.* and tokenizer keys llama.cpp wrote.
void expect_same_gguf(const std::string& ours_path, const std::string& theirs_path) {
  const auto ours = open_store(ours_path);
  const auto theirs = open_store(theirs_path);
  ASSERT_EQ(ours.tensors().size(), theirs.tensors().size()) << theirs_path;
  for (std::size_t i = 0; i < ours.tensors().size(); ++i) {
    const auto& a = ours.tensors()[i];
    const auto& b = theirs.tensors()[i];
    ASSERT_EQ(a.name, b.name) << theirs_path << " tensor " << i;
    EXPECT_EQ(a.dtype, b.dtype) << a.name;
    EXPECT_EQ(a.shape, b.shape) << a.name;
    ASSERT_EQ(a.size_bytes, b.size_bytes) << a.name;
    EXPECT_EQ(std::memcmp(ours.bytes(a), theirs.bytes(b), a.size_bytes), 0) << theirs_path << ": " << a.name;
  }
  const std::set<std::string> compared = {"general.architecture",        "general.file_type",
                                          "tokenizer.ggml.model",        "tokenizer.ggml.tokens",
                                          "tokenizer.ggml.scores",       "tokenizer.ggml.token_type",
                                          "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"};
  for (const auto& item : theirs.metadata().items()) {
    if (item.key().rfind("llama.", 0) == 0 || compared.count(item.key())) {
      const auto it = ours.metadata().find(item.key());
      ASSERT_NE(it, ours.metadata().end()) << item.key();
      EXPECT_EQ(*it, item.value()) << theirs_path << ": " << item.key();
    }
  }
}

TEST(GgufWriter, ACheckpointConvertsAsLlamaCppsConverterWritesIt) {
  const auto dir = testing::fresh_temp_dir();
  for (const auto& [encoding, theirs] : std::vector<std::pair<LlamaFileType, std::string>>{
           {LlamaFileType::F16, "base-f16.gguf"}, {LlamaFileType::Q8_0, "base-q8_0.gguf"}}) {
    convert_to_gguf(open_store(llama_file("base/model.safetensors")), dir + "/" + theirs, encoding);
    expect_same_gguf(dir + "/" + theirs, llama_file(theirs));
  }
}

TEST(GgufWriter, AGgufReencodesToTheConvertersOtherEncoding) {
  // F16 values, Q and K read back to Hugging Face's rows and stored again:
  // the Q8_0 file the converter made from the checkpoint itself.
  const auto dir = testing::fresh_temp_dir();
  convert_to_gguf(open_store(llama_file("base-f16.gguf")), dir + "/q8_0.gguf", LlamaFileType::Q8_0);
  expect_same_gguf(dir + "/q8_0.gguf", llama_file("base-q8_0.gguf"));
}

TEST(GgufWriter, KQuantsAreLlamaQuantizesBlocks) {
  // llama-quantize base-f16.gguf ... Q6_K / Q4_K_M (no importance matrix):
  // its reference quantizers on the same F16 values, and its choice of type
  // per tensor. It writes its tensors in another order, so they are
  // compared by name, block by block.
  const auto dir = testing::fresh_temp_dir();
  for (const auto& [type, theirs_file] : std::vector<std::pair<LlamaFileType, std::string>>{
           {LlamaFileType::Q6_K, "base-q6_k.gguf"}, {LlamaFileType::Q4_K_M, "base-q4_k_m.gguf"}}) {
    convert_to_gguf(open_store(llama_file("base-f16.gguf")), dir + "/" + theirs_file, type);
    const auto ours = open_store(dir + "/" + theirs_file);
    const auto theirs = open_store(llama_file(theirs_file));
    ASSERT_EQ(ours.tensors().size(), theirs.tensors().size());
    std::map<DType, std::pair<uint64_t, uint64_t>> blocks;  // dtype -> (blocks, different)
    for (const auto& a : ours.tensors()) {
      const TensorInfo* b = theirs.find(a.name);
      ASSERT_TRUE(b) << a.name;
      ASSERT_EQ(a.dtype, b->dtype) << theirs_file << ": " << a.name;
      ASSERT_EQ(a.size_bytes, b->size_bytes) << a.name;
      const uint64_t block_bytes = a.dtype == DType::Q6_K ? 210 : a.dtype == DType::Q4_K ? 144 : a.size_bytes;
      for (uint64_t at = 0; at < a.size_bytes; at += block_bytes) {
        ++blocks[a.dtype].first;
        blocks[a.dtype].second += std::memcmp(ours.bytes(a) + at, theirs.bytes(*b) + at, block_bytes) != 0;
      }
    }
    for (const auto& [dtype, counts] : blocks) {
      std::printf("%s, %s: %llu of %llu blocks differ from llama-quantize's\n", theirs_file.c_str(),
                  std::string(dtype_name(dtype)).c_str(), static_cast<unsigned long long>(counts.second),
                  static_cast<unsigned long long>(counts.first));
      EXPECT_EQ(counts.second, 0u) << theirs_file << " " << dtype_name(dtype);
    }
  }
}

TEST(GgufWriter, Bf16IsTheCheckpointRoundedToNearestEven) {
  // No llama.cpp file of the fixture in BF16 is committed: the check is the
  // rounding itself, against the checkpoint's values (F16 values are exact
  // in float32; BF16 keeps their top 16 bits, rounded to nearest even).
  const auto dir = testing::fresh_temp_dir();
  const auto hf = open_store(llama_file("base/model.safetensors"));
  convert_to_gguf(hf, dir + "/bf16.gguf", LlamaFileType::BF16);
  const auto ours = open_store(dir + "/bf16.gguf");
  EXPECT_EQ(ours.metadata().at("general.file_type"), 32);
  const auto* embedding = ours.find("token_embd.weight");
  ASSERT_TRUE(embedding);
  EXPECT_EQ(embedding->dtype, DType::BF16);
  const auto expected = hf.read_f32(*hf.find("model.embed_tokens.weight"));
  const auto got = ours.read_f32(*embedding);
  ASSERT_EQ(got.size(), expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    uint32_t bits;
    std::memcpy(&bits, &expected[i], 4);
    const uint32_t rounded = ((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16) << 16;
    float want;
    std::memcpy(&want, &rounded, 4);
    ASSERT_EQ(got[i], want) << i;
  }
  EXPECT_EQ(ours.find("output_norm.weight")->dtype, DType::F32);
}

TEST(GgufWriter, Q5KMIsTheMixWithFiveBitCodes) {
  // No llama.cpp Q5_K file of the fixture is committed: the checks are the
  // mix (the types of the Q4_K_M file, with Q5_K for Q4_K) and the values,
  // which dequantize closer to the checkpoint than Q4_K_M's.
  const auto dir = testing::fresh_temp_dir();
  convert_to_gguf(open_store(llama_file("base-f16.gguf")), dir + "/q5_k_m.gguf", LlamaFileType::Q5_K_M);
  const auto ours = open_store(dir + "/q5_k_m.gguf");
  const auto q4 = open_store(llama_file("base-q4_k_m.gguf"));
  const auto f16 = open_store(llama_file("base-f16.gguf"));
  EXPECT_EQ(ours.metadata().at("general.file_type"), 17);
  double error5 = 0, error4 = 0, norm = 0;
  for (const auto& t : ours.tensors()) {
    const TensorInfo* four = q4.find(t.name);
    ASSERT_TRUE(four) << t.name;
    EXPECT_EQ(t.dtype, four->dtype == DType::Q4_K ? DType::Q5_K : four->dtype) << t.name;
    const auto exact = f16.read_f32(*f16.find(t.name));
    const auto five = ours.read_f32(t), other = q4.read_f32(*four);
    for (std::size_t i = 0; i < exact.size(); ++i) {
      error5 += (five[i] - exact[i]) * (five[i] - exact[i]);
      error4 += (other[i] - exact[i]) * (other[i] - exact[i]);
      norm += exact[i] * exact[i];
    }
  }
  std::printf("relative error: Q5_K_M %.4f, Q4_K_M %.4f\n", std::sqrt(error5 / norm), std::sqrt(error4 / norm));
  EXPECT_LT(error5, error4 / 2);
}

TEST(GgufWriter, WhatCannotBeConvertedIsRefused) {
  const auto dir = testing::fresh_temp_dir();
  namespace fs = std::filesystem;
  fs::copy_file(llama_file("base/model.safetensors"), dir + "/model.safetensors");
  fs::copy_file(llama_file("base/config.json"), dir + "/config.json");
  EXPECT_THROW_MSG(convert_to_gguf(open_store(dir + "/model.safetensors"), dir + "/out.gguf", LlamaFileType::F16),
                   FormatError, "no tokenizer.model beside it");
  EXPECT_THROW_MSG(convert_to_gguf(open_store(std::string(MODELDNA_SOURCE_DIR) + "/tests/io/fixtures/all_dtypes.safetensors"), dir + "/out.gguf",
                                   LlamaFileType::F16),
                   FormatError, "not a decoder language model");
  EXPECT_FALSE(fs::exists(dir + "/out.gguf"));
  EXPECT_THROW_MSG(parse_llama_file_type("q4_k"), UsageError, "expected f32, f16, bf16, q8_0, q4_k_m, q5_k_m or q6_k");
}

}  // namespace
}  // namespace modeldna::io
