// Private to src/data: the functions of the modeldna_sentencepiece module.
//
// Why a module: Debian's libsentencepiece carries its own copy of
// protobuf-lite 3.14 and exports its symbols, while libtorch loads
// libprotobuf 3.21. Linked into one process the two copies bind to each
// other's functions and it crashes before main(). So libsentencepiece is only
// ever reached through this module, which tokenizer.cpp dlopen()s with
// RTLD_LOCAL (its symbols stay out of the global scope libprotobuf sees) and
// RTLD_DEEPBIND (libsentencepiece binds to its own protobuf first).
// Errors come back as strings; nothing throws across the boundary.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace modeldna::data::spm_module {

using Processor = sentencepiece::SentencePieceProcessor;

struct SpecialIds {
  int pad = -1, unk = -1, bos = -1, eos = -1;
  int mask = -1;               // PieceToId("[MASK]"), unk when absent
  bool mask_is_control = false;
  int pieces = 0;
};

// Bump kVersion whenever a signature changes: a stale module is refused.
inline constexpr int kVersion = 1;

struct Api {
  int version;
  /// Trains in memory; "" on success (the model proto in *model), else the error.
  std::string (*train)(const std::unordered_map<std::string, std::string>& kwargs,
                       const std::vector<const std::string*>& sentences, unsigned seed, std::string* model);
  /// A processor for a serialized model, or nullptr with *error set.
  Processor* (*load)(const std::string& model, std::string* error);
  void (*destroy)(Processor* p);
  SpecialIds (*special_ids)(const Processor* p, const std::string& mask_piece);
  std::string (*encode)(const Processor* p, const std::string& text, std::vector<int>* ids);
  std::string (*decode)(const Processor* p, const std::vector<int>& ids, std::string* text);
};

}  // namespace modeldna::data::spm_module

/// The module's one exported symbol.
extern "C" const modeldna::data::spm_module::Api* modeldna_sentencepiece_api();
