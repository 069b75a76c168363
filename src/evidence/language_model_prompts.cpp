#include "language_model_prompts.h"

#include <algorithm>
#include <cctype>

#include "modeldna/core/error.h"
#include "modeldna/data/text_corpus.h"

namespace modeldna::evidence::detail {
namespace {

constexpr const char* kSentencePieceSpace = "\xE2\x96\x81";  // U+2581, "▁"
constexpr const char* kByteLevelSpace = "\xC4\xA0";          // U+0120, "Ġ"

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

// <s>, </s>, <unk>, <|user|>, <0x41>: written between angle brackets.
bool bracketed(const std::string& piece) { return piece.size() >= 3 && piece.front() == '<' && piece.back() == '>'; }

std::optional<int> byte_of(const std::string& piece) {
  if (piece.size() != 6 || !starts_with(piece, "<0x") || !std::isxdigit(static_cast<unsigned char>(piece[3])) ||
      !std::isxdigit(static_cast<unsigned char>(piece[4])))
    return std::nullopt;
  return std::stoi(piece.substr(3, 2), nullptr, 16);
}

}  // namespace

TextSegmenter::TextSegmenter(const std::vector<std::string>& vocabulary) {
  byte_piece_.fill(-1);
  int64_t sentencepiece_words = 0, byte_level_words = 0;
  for (std::size_t id = 0; id < vocabulary.size(); ++id) {
    const std::string& piece = vocabulary[id];
    const auto i = static_cast<int64_t>(id);
    if (const auto b = byte_of(piece)) {
      if (byte_piece_[static_cast<std::size_t>(*b)] < 0) byte_piece_[static_cast<std::size_t>(*b)] = i;
      continue;
    }
    if (bracketed(piece)) {
      if (!begin_ && (piece == "<s>" || piece == "<|begin_of_text|>" || piece == "<|endoftext|>")) begin_ = i;
      continue;
    }
    if (piece.empty()) continue;
    piece_.emplace(piece, i);
    longest_ = std::max(longest_, piece.size());
    sentencepiece_words += starts_with(piece, kSentencePieceSpace);
    byte_level_words += starts_with(piece, kByteLevelSpace);
  }
  const bool byte_level = byte_level_words > sentencepiece_words;
  word_start_ = byte_level ? kByteLevelSpace : kSentencePieceSpace;
  dummy_prefix_ = !byte_level;  // SentencePiece starts a text as a word
}

std::vector<int64_t> TextSegmenter::ids(const std::string& text) const {
  // Whitespace runs become one word-start mark.
  std::string s = dummy_prefix_ ? word_start_ : "";
  bool space = false;
  for (char ch : text) {
    if (std::isspace(static_cast<unsigned char>(ch))) {
      space = true;
      continue;
    }
    if (space && !s.empty()) s += word_start_;
    space = false;
    s += ch;
  }
  std::vector<int64_t> out;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t taken = 0;
    for (std::size_t len = std::min(longest_, s.size() - i); len > 0 && !taken; --len) {
      const auto it = piece_.find(s.substr(i, len));
      if (it != piece_.end()) out.push_back(it->second), taken = len;
    }
    if (!taken) {
      const int64_t b = byte_piece_[static_cast<unsigned char>(s[i])];
      if (b >= 0) out.push_back(b);
      taken = 1;
    }
    i += taken;
  }
  return out;
}

data::Dataset language_model_prompts(const TextSegmenter& segmenter, int64_t count, int64_t length) {
  MDNA_CHECK(count > 0 && length > 1, "language-model prompts need a positive count and a length above 1");
  const int64_t text_tokens = length - (segmenter.begin_of_sequence() ? 1 : 0);
  const int64_t stride = text_tokens + 1;  // the window, then the token that labels it
  std::vector<int64_t> stream;
  for (const auto& chapter : data::load_moby_dick()) {
    const auto ids = segmenter.ids(chapter.text);
    stream.insert(stream.end(), ids.begin(), ids.end());
    if (static_cast<int64_t>(stream.size()) >= count * stride) break;
  }
  if (static_cast<int64_t>(stream.size()) < count * stride)
    throw UsageError("Moby Dick gives " + std::to_string(stream.size()) + " tokens in this vocabulary, fewer than the " +
                     std::to_string(count * stride) + " that " + std::to_string(count) + " prompts need");
  data::Dataset d;
  d.name = "Moby Dick prompts";
  d.inputs = torch::empty({count, length}, torch::kInt64);
  d.labels = torch::empty({count}, torch::kInt64);
  auto inputs = d.inputs.accessor<int64_t, 2>();
  auto labels = d.labels.accessor<int64_t, 1>();
  for (int64_t w = 0; w < count; ++w) {
    int64_t column = 0;
    if (const auto begin = segmenter.begin_of_sequence()) inputs[w][column++] = *begin;
    for (int64_t k = 0; k < text_tokens; ++k) inputs[w][column++] = stream[static_cast<std::size_t>(w * stride + k)];
    labels[w] = stream[static_cast<std::size_t>(w * stride + text_tokens)];
  }
  d.num_classes = 0;
  return d;
}

std::optional<std::vector<int64_t>> same_tokens(const std::vector<std::string>& source,
                                                const std::vector<std::string>& other) {
  std::unordered_map<std::string, int64_t> other_id;
  for (std::size_t i = 0; i < other.size(); ++i) other_id.emplace(other[i], static_cast<int64_t>(i));
  std::vector<int64_t> map;
  map.reserve(source.size());
  for (const auto& token : source) {
    const auto it = other_id.find(token);
    if (it == other_id.end()) return std::nullopt;
    map.push_back(it->second);
  }
  return map;
}

}  // namespace modeldna::evidence::detail
