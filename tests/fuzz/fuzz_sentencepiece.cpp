// libFuzzer target: the SentencePiece tokenizer.model reader compare uses to
// align token rows (io/vocabulary.h); the file sits beside a checkpoint of
// unknown origin.
#include <cstddef>
#include <cstdint>

#include "modeldna/core/error.h"
#include "modeldna/io/vocabulary.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto pieces = modeldna::io::sentencepiece_pieces("fuzz", reinterpret_cast<const std::byte*>(data), size);
    if (pieces.empty()) __builtin_trap();  // an empty list is refused, never returned
  } catch (const modeldna::FormatError&) {
  }
  return 0;
}
