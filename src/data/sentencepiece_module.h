// Private to src/data: the functions of the modeldna_sentencepiece module.
//
// Why a module: Debian's libsentencepiece carries its own copy of
// protobuf-lite 3.14 and exports its symbols, while libtorch loads
// libprotobuf 3.21. Linked into one process the two copies bind to each
// other's functions and it crashes before main(). So libsentencepiece is only
// ever reached through this module, which tokenizer.cpp loads with
// dlmopen(LM_ID_NEWLM): a link-map namespace of its own, where
// libsentencepiece, its protobuf and its own copies of libstdc++ and libc see
// nothing of the process's libraries. (RTLD_DEEPBIND did this before, but
// AddressSanitizer refuses it, so the tokenizer could not run under ASan.)
//
// A namespace has its own heap: memory allocated on one side must never be
// freed on the other. So the interface is plain C: inputs are read-only
// pointers and sizes, outputs are handed to the caller's sinks (which copy
// them with the caller's allocator), the processor is created and destroyed
// inside the module, and nothing throws across the boundary.
#pragma once

#include <cstddef>

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace modeldna::data::spm_module {

using Processor = sentencepiece::SentencePieceProcessor;

/// Receives bytes (a model, a text, an error message) or ids from the module:
/// `put` runs the caller's code, which copies them.
struct ByteSink {
  void (*put)(void* context, const char* data, std::size_t size);
  void* context;
};
struct IdSink {
  void (*put)(void* context, const int* ids, std::size_t count);
  void* context;
};

struct SpecialIds {
  int pad = -1, unk = -1, bos = -1, eos = -1;
  int mask = -1;               // PieceToId("[MASK]"), unk when absent
  bool mask_is_control = false;
  int pieces = 0;
};

/// Strings as pointer and length, read-only for the module.
struct Bytes {
  const char* data;
  std::size_t size;
};

// Bump kVersion whenever a signature changes: a stale module is refused.
inline constexpr int kVersion = 2;

struct Api {
  int version;
  /// Trains in memory on `sentences` with the options `keys[i]`=`values[i]`;
  /// true with the model proto handed to `model`, else false with the error
  /// handed to `error`.
  bool (*train)(const Bytes* keys, const Bytes* values, std::size_t options, const Bytes* sentences,
                std::size_t count, unsigned seed, ByteSink model, ByteSink error);
  /// A processor for a serialized model, or nullptr with the error handed to `error`.
  Processor* (*load)(Bytes model, ByteSink error);
  void (*destroy)(Processor* p);
  SpecialIds (*special_ids)(const Processor* p, Bytes mask_piece);
  bool (*encode)(const Processor* p, Bytes text, IdSink ids, ByteSink error);
  bool (*decode)(const Processor* p, const int* ids, std::size_t count, ByteSink text, ByteSink error);
};

}  // namespace modeldna::data::spm_module

/// The module's one exported symbol.
extern "C" const modeldna::data::spm_module::Api* modeldna_sentencepiece_api();
