// File: modeldna/data/tokenizer.h
// A subword tokenizer (SentencePiece unigram, Debian's libsentencepiece)
// trained on the corpora and saved beside the text models it fed. Encoding is
// deterministic: the same file gives the same ids every time (no sampling).
// Torch-free.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace modeldna::data {

struct TokenizerOptions {
  int64_t vocab_size = 4000;
  /// Train on at most this many sentences, taken at an even stride so the
  /// choice is deterministic; 0 = all.
  int64_t max_sentences = 0;
};

class Tokenizer {
 public:
  // Reserved ids, the same in every tokenizer modeldna trains.
  static constexpr int64_t kPad = 0;
  static constexpr int64_t kUnknown = 1;
  static constexpr int64_t kCls = 2;   // first token of every model input
  static constexpr int64_t kEnd = 3;
  static constexpr int64_t kMask = 4;  // masked-language-model pre-training
  static constexpr int64_t kFirstPiece = 5;

  /// Trains on `sentences` (single-threaded, so the result is reproducible);
  /// UsageError when there is too little text for the vocabulary size.
  static Tokenizer train(const std::vector<std::string>& sentences, const TokenizerOptions& options);
  /// FormatError naming the file when it is missing or not a tokenizer modeldna wrote.
  static Tokenizer load(const std::string& path);
  /// Written atomically.
  void save(const std::string& path) const;

  int64_t vocab_size() const;
  std::vector<int64_t> encode(const std::string& text) const;
  std::string decode(const std::vector<int64_t>& ids) const;
  /// A model input: [CLS], then the text's ids truncated to seq_len - 1, then
  /// kPad up to seq_len.
  std::vector<int64_t> encode_fixed(const std::string& text, int64_t seq_len) const;
  /// The model file's bytes (what save() writes).
  const std::string& serialized() const { return serialized_; }

 private:
  Tokenizer() = default;
  std::shared_ptr<const sentencepiece::SentencePieceProcessor> processor_;
  std::string serialized_;
};

}  // namespace modeldna::data
