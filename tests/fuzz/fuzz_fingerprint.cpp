// libFuzzer target: a registry fingerprint's decoder (docs/spec/fingerprint-v4.md),
// which reads bytes from a database other processes (or people) write.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "modeldna/core/error.h"
#include "modeldna/registry/fingerprint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto fp = modeldna::registry::decode(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
    // What decodes must encode again and decode to the same bytes.
    const auto bytes = modeldna::registry::encode(fp);
    if (modeldna::registry::encode(modeldna::registry::decode(bytes, "fuzz again")) != bytes) __builtin_trap();
  } catch (const modeldna::FormatError&) {
  }
  return 0;
}
