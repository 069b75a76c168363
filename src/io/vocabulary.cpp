#include "modeldna/io/vocabulary.h"

#include <cstring>
#include <filesystem>

#include "modeldna/core/error.h"
#include "protobuf_wire.h"

namespace modeldna::io {

using detail::WireReader;
using detail::WireType;

std::vector<SentencePiece> sentencepiece_model(const std::string& path, const std::byte* data, uint64_t size) {
  std::vector<SentencePiece> pieces;
  WireReader model(path, data, size, 0);
  while (!model.done()) {
    const auto f = model.next();
    if (f.number != 1) continue;  // ModelProto.pieces
    if (f.type != WireType::Bytes) throw FormatError(path, "SentencePiece piece " + std::to_string(pieces.size()) + " is not a message");
    auto message = WireReader::sub(path, f);
    std::optional<std::string> text;
    SentencePiece piece;
    while (!message.done()) {
      const auto g = message.next();
      if (g.number == 1 && g.type == WireType::Bytes) text = std::string(g.text());
      if (g.number == 2 && g.type == WireType::Fixed32) {
        const auto bits = static_cast<uint32_t>(g.value);
        std::memcpy(&piece.score, &bits, sizeof bits);
      }
      if (g.number == 3 && g.type == WireType::Varint) {
        if (g.value < 1 || g.value > 6)
          throw FormatError(path, "SentencePiece piece " + std::to_string(pieces.size()) + " has type " +
                                      std::to_string(g.value) + ", not 1-6");
        piece.type = static_cast<int32_t>(g.value);
      }
    }
    if (!text) throw FormatError(path, "SentencePiece piece " + std::to_string(pieces.size()) + " has no text");
    piece.text = std::move(*text);
    pieces.push_back(std::move(piece));
  }
  if (pieces.empty()) throw FormatError(path, "no SentencePiece pieces (not a tokenizer.model)");
  return pieces;
}

std::vector<std::string> sentencepiece_pieces(const std::string& path, const std::byte* data, uint64_t size) {
  std::vector<std::string> texts;
  for (auto& piece : sentencepiece_model(path, data, size)) texts.push_back(std::move(piece.text));
  return texts;
}

std::optional<std::vector<std::string>> vocabulary(const TensorStore& store) {
  if (store.format() == Format::GGUF) {
    const auto it = store.metadata().find("tokenizer.ggml.tokens");
    if (it == store.metadata().end()) return std::nullopt;
    if (!it->is_array()) throw FormatError(store.path(), "tokenizer.ggml.tokens is not an array");
    std::vector<std::string> tokens;
    for (const auto& t : *it) {
      if (!t.is_string()) throw FormatError(store.path(), "tokenizer.ggml.tokens holds a value that is not a string");
      tokens.push_back(t.get<std::string>());
    }
    return tokens;
  }
  if (store.format() != Format::Safetensors && store.format() != Format::PyTorch) return std::nullopt;
  namespace fs = std::filesystem;
  const fs::path model(store.path());
  const fs::path folder = fs::is_directory(model) ? model : model.parent_path();
  const auto file = (folder / "tokenizer.model").string();
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return std::nullopt;
  const auto size = fs::file_size(file, ec);
  if (ec || size > kMaxTokenizerBytes)
    throw FormatError(file, ec ? ec.message() : std::to_string(size) + " bytes, more than the tokenizer limit of " +
                                                    std::to_string(kMaxTokenizerBytes));
  const auto blob = map_file(file);
  return sentencepiece_pieces(file, blob->data(), blob->size());
}

}  // namespace modeldna::io
