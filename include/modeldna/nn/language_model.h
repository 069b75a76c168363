// File: modeldna/nn/language_model.h
// Runs the decoder language models of the Llama family (llama, mistral,
// qwen2) that other tools wrote: a Hugging Face checkpoint with its
// config.json, or a llama.cpp GGUF in any encoding modeldna dequantizes
// (F32, F16, BF16, Q8_0, K-quants). The file stays data: its tensors are
// read by their ecosystem names (io/ecosystem_names.h), llama.cpp's rotary
// row order is undone, and the forward pass is modeldna's own, with Hugging
// Face semantics: RMSNorm, rotate-half rotary embeddings, grouped-query
// attention by repeating key-value heads, a SwiGLU MLP, a tied or separate
// output head.
//
// A CausalLm is a Network whose input is a batch of token ids [batch,
// length] and whose output is the next-token logits after the last position
// [batch, vocab], so compare's black-box detectors see it as they see any
// classifier (evidence/model_behaviour.h).
#pragma once

#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>

#include <memory>
#include <vector>

#include "modeldna/io/gguf_writer.h"
#include "modeldna/io/language_model.h"
#include "modeldna/nn/network.h"

namespace modeldna::nn {

/// The length of the token sequences compare shows a language model
/// (evidence/model_behaviour.h): long enough for the prompt to be text, short
/// enough that 900 of them (300 probes x clean, noisy, CutMix) run through a
/// 5M-parameter model in 1.9 s on one core (BENCHMARKS.md, "Black-box
/// evidence for language models").
inline constexpr int64_t kProbeTokens = 16;

namespace detail {
class RmsNorm;
class DecoderBlock;
}  // namespace detail

class CausalLm : public Network {
 public:
  explicit CausalLm(io::LanguageModelConfig config);

  /// The final normalised hidden state at the last position [batch, hidden].
  torch::Tensor features(torch::Tensor ids) override;
  /// The output head on features: next-token logits [batch, vocab].
  torch::Tensor classify(const torch::Tensor& features) override;
  /// Logits at every position [batch, length, vocab] (teacher forcing).
  torch::Tensor token_logits(const torch::Tensor& ids);

  const io::LanguageModelConfig& language_model() const { return lm_; }

 private:
  torch::Tensor hidden_states(const torch::Tensor& ids);  // after the final norm, [batch, length, hidden]

  io::LanguageModelConfig lm_;
  // Registered under Hugging Face's names without "model." (embed_tokens,
  // layers.N.self_attn.q_proj, ..., norm, lm_head), which is how the loader
  // finds each parameter in a file.
  torch::nn::Embedding embed_tokens_{nullptr};
  std::vector<std::shared_ptr<detail::DecoderBlock>> layers_;
  std::shared_ptr<detail::RmsNorm> norm_;
  torch::nn::Linear lm_head_{nullptr};  // null when tied to the embedding
};

/// A freshly initialised model, as transformers initialises a Llama: every
/// matrix N(0, 0.02) (its `initializer_range`), every RMSNorm gain 1. Seeded
/// by its own generator (the global torch seed is untouched). UsageError
/// for a configuration the runner cannot compute.
std::shared_ptr<CausalLm> make_language_model(const io::LanguageModelConfig& config, uint64_t seed);

/// Writes `model` as a Hugging Face folder that transformers and llama.cpp's
/// convert_hf_to_gguf.py read: config.json (LlamaForCausalLM, float32),
/// model.safetensors (Hugging Face names, float32) and the SentencePiece
/// `tokenizer_model` copied as tokenizer.model. The folder is created;
/// files are written atomically.
void save_language_model(const std::string& folder, const CausalLm& model, const std::string& tokenizer_model);

/// Writes `model` as llama.cpp's convert_hf_to_gguf.py writes a Llama:
/// GGUF v3 with llama.cpp's tensor names and `llama.*` metadata, Q and K rows
/// in its rotary order, the pieces, scores and types of the SentencePiece
/// `tokenizer_model`, tensors in the order of their Hugging Face names.
/// Matrices as `type` says (io/gguf_writer.h: F32, F16, Q8_0, Q4_K_M, Q6_K,
/// each equal block for block to llama.cpp's own tools), vectors in F32.
void save_language_model_gguf(const std::string& path, const CausalLm& model, const std::string& tokenizer_model,
                              io::LlamaFileType type);

struct LoadedLanguageModel {
  std::shared_ptr<CausalLm> model;  // in eval mode
  std::shared_ptr<const io::TensorStore> store;
};

/// Builds the model from the file's tensors. FormatError naming the file:
/// not a language model, metadata that contradicts the tensors, non-finite
/// weights; UsageError for an architecture the runner does not compute
/// (the message says why).
LoadedLanguageModel load_language_model(std::shared_ptr<const io::TensorStore> store);

}  // namespace modeldna::nn
