// Shared by the libFuzzer targets (scripts/fuzz.sh): feed bytes to one
// reader, then read every tensor it accepted, so the dequantization and
// stride paths run on hostile input too, and the language-model metadata
// checks on what it claims. Bad input must end in a modeldna
// Error; anything else (a crash, a sanitizer report, an InternalError, a
// leak) is a bug the fuzzer reports.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "modeldna/core/error.h"
#include "modeldna/io/language_model.h"
#include "modeldna/io/tensor_store.h"
#include "modeldna/io/vocabulary.h"

namespace modeldna::fuzz {

inline std::shared_ptr<const io::Blob> blob_of(const uint8_t* data, size_t size) {
  std::vector<std::byte> bytes(size);
  if (size) std::memcpy(bytes.data(), data, size);
  return io::owned_blob("fuzz-input", std::move(bytes));
}

inline void touch(const io::TensorStore& store) {
  std::vector<float> buffer(4096);
  for (const auto& t : store.tensors()) {
    const int64_t n = std::min<int64_t>(t.numel(), static_cast<int64_t>(buffer.size()));
    if (n > 0) store.read_f32(t, t.numel() - n, n, buffer.data());
    if (!io::is_real(t.dtype) && t.numel() <= 4096) (void)store.read_i64(t);
  }
  (void)io::summarize(store);
  // What compare reads of a language model before it runs one: the
  // hyper-parameters checked against the tensors, and the tokens.
  (void)io::language_model_config(store);
  (void)io::vocabulary(store);
}

template <typename Reader>
int run(const uint8_t* data, size_t size, Reader read) {
  try {
    touch(read(blob_of(data, size)));
  } catch (const modeldna::Error&) {
    // refused: the expected outcome for most inputs
  }
  return 0;
}

}  // namespace modeldna::fuzz
