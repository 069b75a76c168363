// libFuzzer target: the onnx reader (scripts/fuzz.sh).
#include "fuzz_support.h"
#include "readers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return modeldna::fuzz::run(data, size, modeldna::io::detail::read_onnx);
}
