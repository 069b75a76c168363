// Names and rows across llama.cpp's GGUF and Hugging Face layouts, and the
// change a quantized encoding explains.
#include "modeldna/io/ecosystem_names.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <numeric>
#include <random>

#include "encoding_error.h"
#include "modeldna/io/dequantize.h"

namespace modeldna::compare::detail {
namespace {
using io::ecosystem_name;
using io::rotary_stored_row;
using io::rotary_stored_rows;

io::TensorStore gguf_of(const std::string& architecture) {
  io::TensorStore store(io::Format::GGUF, "model.gguf");
  store.mutable_metadata()["general.architecture"] = architecture;
  store.mutable_metadata()["llama.attention.head_count"] = 4;
  store.mutable_metadata()["llama.attention.head_count_kv"] = 2;
  return store;
}

TEST(NameMap, LlamaCppNamesAreSpelledAsHuggingFaceSpellsThem) {
  const auto llama = gguf_of("llama");
  const io::TensorStore hf(io::Format::Safetensors, "model.safetensors");
  const std::vector<std::pair<std::string, std::string>> same = {
      {"blk.3.attn_q.weight", "model.layers.3.self_attn.q_proj.weight"},
      {"blk.3.attn_k.weight", "model.layers.3.self_attn.k_proj.weight"},
      {"blk.3.attn_v.weight", "model.layers.3.self_attn.v_proj.weight"},
      {"blk.3.attn_output.weight", "model.layers.3.self_attn.o_proj.weight"},
      {"blk.11.ffn_gate.weight", "model.layers.11.mlp.gate_proj.weight"},
      {"blk.11.ffn_up.weight", "model.layers.11.mlp.up_proj.weight"},
      {"blk.11.ffn_down.weight", "model.layers.11.mlp.down_proj.weight"},
      {"blk.0.attn_norm.weight", "model.layers.0.input_layernorm.weight"},
      {"blk.0.ffn_norm.weight", "model.layers.0.post_attention_layernorm.weight"},
      {"token_embd.weight", "model.embed_tokens.weight"},
      {"output_norm.weight", "model.norm.weight"},
      {"output.weight", "lm_head.weight"},
  };
  for (const auto& [gguf, hugging_face] : same) EXPECT_EQ(ecosystem_name(llama, gguf), ecosystem_name(hf, hugging_face)) << gguf;
  EXPECT_NE(ecosystem_name(llama, "blk.3.attn_q.weight"), ecosystem_name(hf, "model.layers.3.self_attn.k_proj.weight"));

  const auto gpt2 = gguf_of("gpt2");
  EXPECT_EQ(ecosystem_name(gpt2, "blk.0.attn_qkv.weight"), ecosystem_name(hf, "transformer.h.0.attn.c_attn.weight"));
  EXPECT_EQ(ecosystem_name(gpt2, "position_embd.weight"), ecosystem_name(hf, "wpe.weight"));
  const auto phi3 = gguf_of("phi3");
  EXPECT_EQ(ecosystem_name(phi3, "blk.2.ffn_up.weight"), ecosystem_name(hf, "model.layers.2.mlp.gate_up_proj.weight"));

  // Unknown architectures and other formats keep their names; TensorFlow's :0 goes.
  EXPECT_EQ(ecosystem_name(gguf_of("rwkv6"), "blk.0.attn_q.weight"), "blk.0.attn_q.weight");
  EXPECT_EQ(ecosystem_name(gguf_of("llama"), "blk.0.some_new_thing.weight"), "blk.0.some_new_thing.weight");
  EXPECT_EQ(ecosystem_name(io::TensorStore(io::Format::TFJS, "model.json"), "dense/kernel:0"), "dense/kernel");
}

// convert_hf_to_gguf.py's permute, written as numpy does it: the rows
// reshaped to (heads, 2, rows_per_head / 2), axes 1 and 2 swapped, flattened.
// Stored row g holds Hugging Face row source_row[g].
std::vector<int64_t> numpy_permute(int64_t rows, int64_t heads) {
  const int64_t half = rows / heads / 2;
  std::vector<int64_t> source_row;
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < half; ++i)    // axis 1 after the swap
      for (int64_t j = 0; j < 2; ++j)     // axis 2 after the swap
        source_row.push_back((h * 2 + j) * half + i);
  return source_row;
}

TEST(NameMap, RotaryRowsAreLlamaCppsPermuteUndone) {
  for (const auto& [rows, heads] : std::vector<std::pair<int64_t, int64_t>>{{256, 4}, {128, 2}, {64, 8}, {6, 3}}) {
    const auto source_row = numpy_permute(rows, heads);
    for (int64_t g = 0; g < rows; ++g)
      EXPECT_EQ(rotary_stored_row(source_row[static_cast<std::size_t>(g)], rows, heads), g) << rows << " rows, " << heads << " heads";
  }
  io::TensorInfo q, k, v;
  q.name = "blk.0.attn_q.weight";
  q.shape = {256, 256};
  k.name = "blk.0.attn_k.weight";
  k.shape = {128, 256};
  v.name = "blk.0.attn_v.weight";
  v.shape = {128, 256};
  const auto llama = gguf_of("llama");
  ASSERT_TRUE(rotary_stored_rows(llama, q));
  EXPECT_EQ(rotary_stored_rows(llama, q)->at(65), rotary_stored_row(65, 256, 4));  // Q: the query heads
  ASSERT_TRUE(rotary_stored_rows(llama, k));
  EXPECT_EQ(rotary_stored_rows(llama, k)->at(65), rotary_stored_row(65, 128, 2));  // K: the key-value heads
  EXPECT_FALSE(rotary_stored_rows(llama, v));
  EXPECT_FALSE(rotary_stored_rows(gguf_of("qwen2"), q));  // NeoX-style rotary: rows as Hugging Face's
  EXPECT_FALSE(rotary_stored_rows(io::TensorStore(io::Format::Safetensors, "m"), q));
  io::TensorInfo odd = q;
  odd.shape = {250, 256};  // 4 heads do not divide it: nothing is undone
  EXPECT_FALSE(rotary_stored_rows(llama, odd));
}

// Q8_0 as ggml's reference quantizer writes it: per 32 values, d = max|x| /
// 127 (float16), codes round(x / d).
std::vector<std::byte> q8_0_blocks(const std::vector<float>& x) {
  std::vector<std::byte> out;
  for (std::size_t b = 0; b < x.size(); b += 32) {
    float amax = 0;
    for (std::size_t k = 0; k < 32; ++k) amax = std::max(amax, std::abs(x[b + k]));
    const float d = amax / 127.0f;
    const uint16_t half = io::f32_to_f16(d);
    out.push_back(static_cast<std::byte>(half & 0xff));
    out.push_back(static_cast<std::byte>(half >> 8));
    for (std::size_t k = 0; k < 32; ++k)
      out.push_back(static_cast<std::byte>(static_cast<int8_t>(std::lround(d > 0 ? x[b + k] / d : 0.0f))));
  }
  return out;
}

TEST(EncodingError, TheEstimateIsTheRoundingAQ8_0CopyReallyHas) {
  constexpr int64_t kRows = 64, kCols = 256;
  std::mt19937_64 rng(5);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::vector<float> x(static_cast<std::size_t>(kRows * kCols));
  for (float& v : x) v = normal(rng);
  io::TensorStore store(io::Format::GGUF, "q8.gguf");
  auto bytes = q8_0_blocks(x);
  io::TensorInfo t;
  t.name = "w";
  t.dtype = io::DType::Q8_0;
  t.shape = {kRows, kCols};
  t.layout = io::Layout::OI;
  t.role = io::Role::Weight;
  t.size_bytes = bytes.size();
  t.blob = store.add_blob(io::owned_blob("q8.gguf", std::move(bytes)));
  store.add_tensor(t);
  const auto& stored = store.tensors().front();
  const auto back = store.read_f32(stored);
  double diff = 0, norm = 0;
  for (std::size_t k = 0; k < x.size(); ++k) {
    diff += (back[k] - x[k]) * static_cast<double>(back[k] - x[k]);
    norm += static_cast<double>(x[k]) * x[k];
  }
  const double actual = std::sqrt(diff / norm);
  std::vector<int64_t> units(kRows);
  std::iota(units.begin(), units.end(), 0);
  const auto estimate = encoding_relative_error(store, stored, units);
  ASSERT_TRUE(estimate);
  // Uniform rounding noise at each block's step: the real error within 20%.
  EXPECT_NEAR(*estimate / actual, 1.0, 0.2) << "estimate " << *estimate << ", actual " << actual;

  io::TensorInfo f = stored;  // float storage: nothing to explain
  f.dtype = io::DType::F32;
  EXPECT_FALSE(encoding_relative_error(store, f, units));
}

}  // namespace
}  // namespace modeldna::compare::detail
