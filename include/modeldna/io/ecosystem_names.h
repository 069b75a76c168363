// File: modeldna/io/ecosystem_names.h
// One spelling for the tensors of language models across the two ecosystems
// that write them. llama.cpp's GGUF renames every tensor
// (blk.N.attn_q.weight) and stores Q and K with their rows reordered for its
// rotary kernel; Hugging Face transformers (safetensors, PyTorch) names them
// model.layers.N.self_attn.q_proj.weight. Pairing compares the spelling
// here, and unit reads undo the row order, so that a conversion pairs every
// tensor with the one it came from (docs/formats/gguf.md, "Names and rows");
// the language-model runner (nn/language_model.h) reads either layout through
// the same two functions. Torch-free.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "modeldna/io/tensor_store.h"

namespace modeldna::io {

/// A GGUF file's `general.architecture` ("llama", "qwen2", ...); empty for
/// other formats or when the key is missing.
std::string gguf_architecture(const TensorStore& store);

/// The name pairing compares: Hugging Face's spelling without the model
/// class's prefix ("model.", "transformer."), for GGUF files of a known
/// architecture (llama, mistral, qwen2, qwen3, gemma, phi3, gpt2) mapped from
/// llama.cpp's names; TensorFlow's ":0" output suffix dropped. Other names
/// are returned as they are.
std::string ecosystem_name(const TensorStore& store, const std::string& name);

/// llama.cpp's name for a Hugging Face tensor of `architecture` (spelled
/// without the model class's prefix, as ecosystem_name gives it):
/// "layers.3.self_attn.q_proj.weight" -> "blk.3.attn_q.weight"; nullopt for
/// a name or architecture the map does not know.
std::optional<std::string> gguf_name(const std::string& architecture, const std::string& hugging_face_name);

/// For a GGUF Q or K projection that llama.cpp stored in its rotary row order
/// (architecture llama: convert_hf_to_gguf.py's permute, with the head count
/// for Q and the key-value head count for K): the stored row of each
/// Hugging Face row. nullopt for every other tensor, and when the head counts
/// are missing or do not divide the rows (then nothing is undone).
std::optional<std::vector<int64_t>> rotary_stored_rows(const TensorStore& store, const TensorInfo& tensor);

/// The stored row of Hugging Face row `row` of a Q or K matrix with
/// `heads` heads of `rows / heads` rows each (llama.cpp's permute: within a
/// head, the two rotary halves interleaved).
int64_t rotary_stored_row(int64_t row, int64_t rows, int64_t heads);

}  // namespace modeldna::io
