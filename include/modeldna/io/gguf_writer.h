// File: modeldna/io/gguf_writer.h
// Writes GGUF v3, llama.cpp's format (docs/formats/gguf.md): typed
// metadata, then tensor infos, then the tensors' data, each aligned to 32
// bytes. The encodings written follow llama.cpp's reference code: F32, F16,
// Q8_0 as gguf-py's quantizer (the one convert_hf_to_gguf.py runs for
// `--outtype q8_0`) computes it, and Q6_K as llama-quantize's reference
// quantizer does, block for block. Torch-free.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "modeldna/io/language_model.h"
#include "modeldna/io/vocabulary.h"

namespace modeldna::io {

/// A metadata value with its GGUF type (the type is part of the format:
/// llama.cpp reads `block_count` as a uint32, `freq_base` as a float32).
using GgufValue = std::variant<uint32_t, int32_t, uint64_t, float, bool, std::string, std::vector<std::string>,
                               std::vector<float>, std::vector<int32_t>>;

/// The tensor encodings modeldna writes (ggml type ids 0, 1, 30, 8, 12, 13
/// and 14). BF16 rounds to nearest even and keeps NaN quiet, as gguf-py does.
enum class GgufEncoding { F32, F16, BF16, Q8_0, Q4_K, Q5_K, Q6_K };

/// What a whole Llama file is encoded as (llama.cpp's general.file_type):
/// every matrix in one encoding, or Q4_K_M / Q5_K_M, llama-quantize's mixes
/// of Q4_K or Q5_K with Q6_K. Vectors (norms, biases) are F32 in every one.
enum class LlamaFileType { F32, F16, BF16, Q8_0, Q4_K_M, Q5_K_M, Q6_K };

struct GgufTensorToWrite {
  std::string name;            // llama.cpp's name: "blk.0.attn_q.weight"
  std::vector<int64_t> shape;  // logical, outermost first (written reversed, as ggml's ne)
  std::vector<float> values;   // row-major
  GgufEncoding encoding = GgufEncoding::F32;
};

/// Q8_0 blocks of `values` (a multiple of 32): per block of 32, the scale
/// d = max|x| / 127 as IEEE half, then round(x / d) as int8 (half away from
/// zero; 0 for an all-zero block), computed in float32 as gguf-py does.
std::vector<uint8_t> quantize_q8_0(const std::vector<float>& values);

/// Q6_K super-blocks of `values` (a multiple of 256) as llama.cpp's
/// reference quantizer (quantize_row_q6_K_ref, what llama-quantize runs
/// without an importance matrix) computes them: per group of 16, a scale
/// refined by make_qx_quants (rmse type 1); the 16 scales stored as int8 of
/// one half-precision super-scale; 6-bit codes split into ql and qh.
std::vector<uint8_t> quantize_q6_k(const std::vector<float>& values);

/// Q4_K super-blocks of `values` (a multiple of 256) as llama.cpp's
/// reference quantizer computes them: per group of 32, a scale and a
/// minimum fitted by make_qkx2_quants (weights av + |x|); both stored as
/// 6-bit multiples of half-precision super-values; 4-bit codes.
std::vector<uint8_t> quantize_q4_k(const std::vector<float>& values);
/// Q5_K as llama.cpp's reference quantizer computes it: as Q4_K with 5-bit
/// codes (the fifth bits in their own plane) and its own trial steps. No
/// llama.cpp Q5_K file of the fixture is committed to compare with.
std::vector<uint8_t> quantize_q5_k(const std::vector<float>& values);

/// Writes `path` atomically. UsageError for a tensor whose values do not
/// fill its shape, or a Q8_0 tensor whose rows are not whole blocks.
void write_gguf(const std::string& path, const std::vector<std::pair<std::string, GgufValue>>& metadata,
                const std::vector<GgufTensorToWrite>& tensors);

/// One tensor's values in Hugging Face's layout, by its name without the
/// model class's prefix ("layers.0.self_attn.q_proj.weight").
using HuggingFaceTensor = std::function<std::vector<float>(const std::string& name)>;

/// A Llama as llama.cpp's convert_hf_to_gguf.py writes it: llama.cpp's
/// tensor names in the order of the Hugging Face names (a safetensors
/// checkpoint's order), Q and K rows in its rotary order, the `llama.*`
/// keys, and the tokenizer's pieces, scores and types (user-defined pieces
/// written as normal, as the converter does). Matrices as `type` says
/// (Q4_K_M and Q5_K_M: llama-quantize's choice per tensor for a model with fewer than
/// 4 query heads per key-value head and no experts: the output head, and
/// attn_v and ffn_down of its use_more_bits blocks, Q6_K; the rest Q4_K or
/// Q5_K),
/// vectors F32. UsageError for another architecture, or a tokenizer whose
/// size is not the vocabulary's.
void write_llama_gguf(const std::string& path, const LanguageModelConfig& config,
                      const std::vector<SentencePiece>& pieces, const HuggingFaceTensor& tensor, LlamaFileType type);

}  // namespace modeldna::io
