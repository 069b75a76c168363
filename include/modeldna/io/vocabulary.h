// File: modeldna/io/vocabulary.h
// A language model's tokens, in row order of its embedding and output head:
// from a GGUF's `tokenizer.ggml.tokens`, or from the SentencePiece
// `tokenizer.model` beside a Hugging Face checkpoint. compare aligns the rows
// of two models' token tables by these strings. Torch-free; nothing is run.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "modeldna/io/tensor_store.h"

namespace modeldna::io {

/// The largest tokenizer file read (a SentencePiece model of 256k pieces is
/// about 5 MB).
inline constexpr uint64_t kMaxTokenizerBytes = 64ull << 20;

/// The store's tokens, or nullopt when it carries none. FormatError naming
/// the file when a tokenizer is there but malformed.
std::optional<std::vector<std::string>> vocabulary(const TensorStore& store);

/// One piece of a SentencePiece model, as its ModelProto holds it.
struct SentencePiece {
  std::string text;
  float score = 0;
  int32_t type = 1;  // SentencePiece's Type: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte
};

/// Every piece of a SentencePiece ModelProto, in id order; FormatError
/// naming `path` when the bytes are not one.
std::vector<SentencePiece> sentencepiece_model(const std::string& path, const std::byte* data, uint64_t size);

/// The pieces of a SentencePiece ModelProto (field 1, each piece's field 1),
/// in id order; FormatError naming `path` when the bytes are not one.
std::vector<std::string> sentencepiece_pieces(const std::string& path, const std::byte* data, uint64_t size);

}  // namespace modeldna::io
