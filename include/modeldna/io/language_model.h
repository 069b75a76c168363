// File: modeldna/io/language_model.h
// A decoder language model's hyper-parameters as its file states them: a
// GGUF's `<architecture>.*` keys, or the Hugging Face `config.json` beside a
// safetensors or PyTorch checkpoint. Read and checked against the tensors
// before anything runs (nn/language_model.h runs the model), so a file whose
// metadata contradicts its tensors is refused with the file and the field.
// Torch-free: it only reads metadata and shapes.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "modeldna/io/tensor_store.h"

namespace modeldna::io {

/// The largest config.json read beside a checkpoint.
inline constexpr uint64_t kMaxModelConfigBytes = 1ull << 20;

struct LanguageModelConfig {
  std::string architecture;  // as the file names it: "llama", "mistral", "qwen2", ...
  std::string config_file;   // where the numbers come from (the GGUF, or the config.json)
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t layers = 0;
  int64_t heads = 0;     // query heads
  int64_t kv_heads = 0;  // key-value heads (grouped-query attention when fewer)
  int64_t head_dim = 0;
  int64_t context_length = 2048;  // GGUF's context_length, Hugging Face's max_position_embeddings
  double rope_theta = 10000;
  double rms_norm_eps = 1e-5;
  bool tied_embeddings = false;  // no separate output head: the embedding is reused
  bool attention_bias = false;   // Q, K and V carry biases (Qwen2)
  /// Empty when modeldna's runner computes this architecture; otherwise why
  /// not (the white-box evidence needs none of this).
  std::string cannot_run;

  /// Each tensor the runner reads, by its Hugging Face name without the
  /// model class's prefix (io/ecosystem_names.h), with its shape; the output
  /// head only when it is not tied.
  std::map<std::string, std::vector<int64_t>> expected_shapes() const;

  /// As `inspect --json` lists it ("language_model").
  nlohmann::json to_json() const;
  /// One line for people: "llama, 12 blocks, hidden 256, 4 heads (2
  /// key-value) of 64, feed-forward 256, vocabulary 512, separate output head".
  std::string describe() const;
};

/// The store's language-model configuration, or nullopt when it is not a
/// decoder language model (no GGUF architecture, no config.json beside it).
/// FormatError naming the file and the field when the metadata contradicts
/// itself or the tensors: head counts that do not divide the widths, a
/// tensor whose shape is not what the metadata says, a missing tensor.
/// An architecture modeldna does not run gets a config with `cannot_run`.
std::optional<LanguageModelConfig> language_model_config(const TensorStore& store);

}  // namespace modeldna::io
