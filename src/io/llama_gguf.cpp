// A Llama as llama.cpp's convert_hf_to_gguf.py writes it (gguf_writer.h),
// from any source of Hugging Face-layout tensors: a model in memory
// (nn::save_language_model_gguf) or a file (convert_to_gguf).
#include <filesystem>
#include <map>

#include "modeldna/core/error.h"
#include "modeldna/io/convert.h"
#include "modeldna/io/ecosystem_names.h"
#include "modeldna/io/gguf_writer.h"
#include "modeldna/io/language_model.h"
#include "modeldna/io/vocabulary.h"

namespace modeldna::io {
namespace {

// ggml's general.file_type for a file whose matrices are all `encoding`
// (LLAMA_FTYPE_ALL_F32, MOSTLY_F16, MOSTLY_Q8_0).
uint32_t file_type(LlamaFileType type) {
  switch (type) {
    case LlamaFileType::F32: return 0;
    case LlamaFileType::F16: return 1;
    case LlamaFileType::BF16: return 32;
    case LlamaFileType::Q8_0: return 7;
    case LlamaFileType::Q4_K_M: return 15;
    case LlamaFileType::Q5_K_M: return 17;
    case LlamaFileType::Q6_K: return 18;
  }
  throw InternalError("invalid LlamaFileType");
}

// llama-quantize's use_more_bits: the first and last eighth of the blocks,
// and every third between them, get more bits in the K-quant mixes.
bool uses_more_bits(int64_t block, int64_t blocks) {
  return block < blocks / 8 || block >= 7 * blocks / 8 || (block - blocks / 8) % 3 == 2;
}

// The encoding of a matrix `gguf_name` in a file of `type`.
GgufEncoding matrix_encoding(LlamaFileType type, const std::string& gguf_name, int64_t blocks) {
  switch (type) {
    case LlamaFileType::F32: return GgufEncoding::F32;
    case LlamaFileType::F16: return GgufEncoding::F16;
    case LlamaFileType::BF16: return GgufEncoding::BF16;
    case LlamaFileType::Q8_0: return GgufEncoding::Q8_0;
    case LlamaFileType::Q6_K: return GgufEncoding::Q6_K;
    case LlamaFileType::Q4_K_M:
    case LlamaFileType::Q5_K_M: break;
  }
  if (gguf_name == "output.weight") return GgufEncoding::Q6_K;
  const auto ends_with = [&](const std::string& suffix) {
    return gguf_name.size() > suffix.size() && gguf_name.compare(gguf_name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (gguf_name.rfind("blk.", 0) == 0 && (ends_with(".attn_v.weight") || ends_with(".ffn_down.weight"))) {
    const int64_t block = std::stoll(gguf_name.substr(4, gguf_name.find('.', 4) - 4));
    if (uses_more_bits(block, blocks)) return GgufEncoding::Q6_K;
  }
  return type == LlamaFileType::Q4_K_M ? GgufEncoding::Q4_K : GgufEncoding::Q5_K;
}

// convert_hf_to_gguf.py's token types from SentencePiece's: it marks
// unknown, control, unused and byte pieces, and writes every other piece
// (user-defined ones too) as normal.
int32_t llama_cpp_token_type(int32_t sentencepiece_type) {
  constexpr int32_t kNormal = 1, kUserDefined = 4;
  return sentencepiece_type == kUserDefined ? kNormal : sentencepiece_type;
}

std::vector<std::pair<std::string, GgufValue>> llama_metadata(const LanguageModelConfig& c,
                                                              const std::vector<SentencePiece>& pieces,
                                                              LlamaFileType type) {
  const std::string a = "llama";
  auto u32 = [](int64_t v) { return static_cast<uint32_t>(v); };
  std::vector<std::pair<std::string, GgufValue>> m = {
      {"general.architecture", a},
      {"general.type", std::string("model")},
      {a + ".block_count", u32(c.layers)},
      {a + ".context_length", u32(c.context_length)},
      {a + ".embedding_length", u32(c.hidden_size)},
      {a + ".feed_forward_length", u32(c.intermediate_size)},
      {a + ".attention.head_count", u32(c.heads)},
      {a + ".attention.head_count_kv", u32(c.kv_heads)},
      {a + ".rope.freq_base", static_cast<float>(c.rope_theta)},
      {a + ".attention.layer_norm_rms_epsilon", static_cast<float>(c.rms_norm_eps)},
      {a + ".attention.key_length", u32(c.head_dim)},
      {a + ".attention.value_length", u32(c.head_dim)},
      {"general.file_type", file_type(type)},
      {a + ".vocab_size", u32(c.vocab_size)},
      {a + ".rope.dimension_count", u32(c.head_dim)},
      {"tokenizer.ggml.model", std::string("llama")},
  };
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;
  for (const auto& p : pieces) {
    tokens.push_back(p.text);
    scores.push_back(p.score);
    types.push_back(llama_cpp_token_type(p.type));
  }
  m.emplace_back("tokenizer.ggml.tokens", tokens);
  m.emplace_back("tokenizer.ggml.scores", scores);
  m.emplace_back("tokenizer.ggml.token_type", types);
  for (const auto& [key, text] : {std::pair<std::string, std::string>{"bos", "<s>"}, {"eos", "</s>"}, {"unknown", "<unk>"}})
    for (std::size_t id = 0; id < pieces.size(); ++id)
      if (pieces[id].text == text) {
        m.emplace_back("tokenizer.ggml." + key + "_token_id", static_cast<uint32_t>(id));
        break;
      }
  m.emplace_back("general.quantization_version", uint32_t{2});
  return m;
}

// A store of the llama architecture with these head counts: what
// rotary_stored_rows needs to know.
TensorStore rotary_layout(const LanguageModelConfig& c) {
  TensorStore layout(Format::GGUF, "");
  layout.mutable_metadata()["general.architecture"] = "llama";
  layout.mutable_metadata()["llama.attention.head_count"] = c.heads;
  layout.mutable_metadata()["llama.attention.head_count_kv"] = c.kv_heads;
  return layout;
}

// Rows `order[r]` of a row-major matrix of `values`, in that order.
std::vector<float> rows_in_order(const std::vector<float>& values, const std::vector<int64_t>& order) {
  const std::size_t cols = values.size() / order.size();
  std::vector<float> out(values.size());
  for (std::size_t r = 0; r < order.size(); ++r)
    std::copy_n(values.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(order[r]) * cols), cols,
                out.begin() + static_cast<std::ptrdiff_t>(r * cols));
  return out;
}

// A GGUF's tokenizer as SentencePiece pieces (llama.cpp's token types are
// SentencePiece's numbering).
std::vector<SentencePiece> pieces_of_gguf(const TensorStore& store) {
  const auto& m = store.metadata();
  const auto tokens = vocabulary(store);
  const auto scores = m.find("tokenizer.ggml.scores"), types = m.find("tokenizer.ggml.token_type");
  if (!tokens || scores == m.end() || types == m.end() || !scores->is_array() || !types->is_array() ||
      scores->size() != tokens->size() || types->size() != tokens->size())
    throw FormatError(store.path(), "tokenizer.ggml.tokens, scores and token_type are needed, of one length each");
  std::vector<SentencePiece> pieces(tokens->size());
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const auto& score = (*scores)[i];
    const auto& type = (*types)[i];
    if (!score.is_number() || !type.is_number_integer())
      throw FormatError(store.path(), "tokenizer.ggml.scores / token_type entry " + std::to_string(i) + " is not a number");
    pieces[i] = {(*tokens)[i], score.get<float>(), type.get<int32_t>()};
  }
  return pieces;
}

std::vector<SentencePiece> pieces_beside(const TensorStore& store) {
  if (store.format() == Format::GGUF) return pieces_of_gguf(store);
  namespace fs = std::filesystem;
  const fs::path model(store.path());
  std::error_code ec;
  const fs::path folder = fs::is_directory(model, ec) ? model : model.parent_path();
  const std::string file = (folder / "tokenizer.model").string();
  if (!fs::is_regular_file(file, ec))
    throw FormatError(store.path(), "no tokenizer.model beside it: a GGUF carries its tokenizer, so one is needed");
  if (fs::file_size(file, ec) > kMaxTokenizerBytes) throw FormatError(file, "larger than the tokenizer limit");
  const auto blob = map_file(file);
  return sentencepiece_model(file, blob->data(), blob->size());
}

}  // namespace

void write_llama_gguf(const std::string& path, const LanguageModelConfig& c, const std::vector<SentencePiece>& pieces,
                      const HuggingFaceTensor& tensor, LlamaFileType type) {
  if (!c.cannot_run.empty() || (c.architecture != "llama" && c.architecture != "mistral"))
    throw UsageError("GGUF is written for Llama-architecture models, not " + c.architecture +
                     (c.cannot_run.empty() ? "" : " (" + c.cannot_run + ")"));
  if (static_cast<int64_t>(pieces.size()) != c.vocab_size)
    throw UsageError("the tokenizer has " + std::to_string(pieces.size()) + " pieces for a vocabulary of " +
                     std::to_string(c.vocab_size));
  // The converter's order: Hugging Face's full names, as a safetensors file sorts them.
  std::map<std::string, std::string> by_full_name;
  const auto shapes = c.expected_shapes();
  for (const auto& [name, shape] : shapes) by_full_name[name == "lm_head.weight" ? name : "model." + name] = name;
  const TensorStore layout = rotary_layout(c);
  std::vector<GgufTensorToWrite> tensors;
  for (const auto& [full_name, name] : by_full_name) {
    GgufTensorToWrite w;
    w.name = *gguf_name("llama", name);
    w.shape = shapes.at(name);
    w.encoding = w.shape.size() >= 2 ? matrix_encoding(type, w.name, c.layers) : GgufEncoding::F32;
    w.values = tensor(name);
    TensorInfo info;
    info.name = w.name;
    info.shape = w.shape;
    if (const auto stored = rotary_stored_rows(layout, info)) {
      // Row s of the file holds the Hugging Face row r whose stored row is s.
      std::vector<int64_t> source_of(stored->size());
      for (std::size_t r = 0; r < stored->size(); ++r) source_of[static_cast<std::size_t>((*stored)[r])] = static_cast<int64_t>(r);
      w.values = rows_in_order(w.values, source_of);
    }
    tensors.push_back(std::move(w));
  }
  write_gguf(path, llama_metadata(c, pieces, type), tensors);
}

LlamaFileType parse_llama_file_type(const std::string& text) {
  if (text == "f32") return LlamaFileType::F32;
  if (text == "f16") return LlamaFileType::F16;
  if (text == "bf16") return LlamaFileType::BF16;
  if (text == "q8_0") return LlamaFileType::Q8_0;
  if (text == "q4_k_m") return LlamaFileType::Q4_K_M;
  if (text == "q5_k_m") return LlamaFileType::Q5_K_M;
  if (text == "q6_k") return LlamaFileType::Q6_K;
  throw UsageError("GGUF type '" + text + "': expected f32, f16, bf16, q8_0, q4_k_m, q5_k_m or q6_k");
}

void convert_to_gguf(const TensorStore& store, const std::string& out, LlamaFileType type) {
  const auto config = language_model_config(store);
  if (!config) throw FormatError(store.path(), "not a decoder language model (no GGUF architecture, no config.json beside it)");
  std::map<std::string, const TensorInfo*> by_name;
  for (const auto& t : store.tensors()) by_name.emplace(ecosystem_name(store, t.name), &t);
  write_llama_gguf(out, *config, pieces_beside(store), [&](const std::string& name) {
    const TensorInfo& t = *by_name.at(name);  // language_model_config checked every one
    auto values = store.read_f32(t);
    if (const auto stored = rotary_stored_rows(store, t)) values = rows_in_order(values, *stored);  // to Hugging Face's rows
    store.release(t);
    return values;
  }, type);
}

}  // namespace modeldna::io
