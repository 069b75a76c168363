// Private to evidence: the prompts compare shows two language models
// (model_behaviour.cpp). They are passages of Moby Dick cut into pieces of
// the source's own vocabulary, so that both models read real text in tokens
// they know, whatever tool wrote their tokenizer (a GGUF carries only the
// token strings; a SentencePiece or byte-level BPE file would need its own
// algorithm). The segmentation is a greedy longest match, not the
// tokenizer's merges: the prompts are valid token sequences of the text,
// not necessarily the ones its tokenizer would emit, and both models read
// the same ones.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "modeldna/data/dataset.h"

namespace modeldna::evidence::detail {

class TextSegmenter {
 public:
  /// `vocabulary`: the token strings in id order. SentencePiece marks a word
  /// start with U+2581, byte-level BPE with U+0120; the one the vocabulary
  /// uses more is taken. Control tokens (<s>, <|...|>) are never matched in
  /// text; bytes without a piece use the byte pieces <0xNN> when present.
  explicit TextSegmenter(const std::vector<std::string>& vocabulary);

  /// The ids of `text`; characters with neither a piece nor a byte piece are
  /// left out.
  std::vector<int64_t> ids(const std::string& text) const;
  /// The id of the beginning-of-sequence token (<s>, <|begin_of_text|>,
  /// <|endoftext|>), if the vocabulary has one.
  std::optional<int64_t> begin_of_sequence() const { return begin_; }

 private:
  std::unordered_map<std::string, int64_t> piece_;
  std::array<int64_t, 256> byte_piece_{};
  std::string word_start_;
  bool dummy_prefix_ = true;
  std::size_t longest_ = 1;
  std::optional<int64_t> begin_;
};

/// `count` prompts of `length` ids each (the beginning-of-sequence token
/// first when there is one), from consecutive passages of Moby Dick; the
/// label of each is the id that follows it in the text. UsageError when the
/// corpus gives fewer.
data::Dataset language_model_prompts(const TextSegmenter& segmenter, int64_t count, int64_t length);

/// For each source id, the id of the same token string in `other` (its
/// first occurrence), or nullopt when some source token is missing there.
std::optional<std::vector<int64_t>> same_tokens(const std::vector<std::string>& source,
                                                const std::vector<std::string>& other);

}  // namespace modeldna::evidence::detail
