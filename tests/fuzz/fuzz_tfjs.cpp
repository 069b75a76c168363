// libFuzzer target: the TensorFlow.js reader (scripts/fuzz.sh). The input is
// the manifest; two shards of fixed bytes lie beside it for it to name.
#include <unistd.h>

#include <fstream>
#include <string>

#include "fuzz_support.h"
#include "readers.h"

namespace {

const std::string& folder() {
  static const std::string dir = [] {
    char pattern[] = "/tmp/modeldna-fuzz-tfjs-XXXXXX";
    const std::string d = mkdtemp(pattern);
    for (const char* shard : {"/group1-shard1of2.bin", "/group1-shard2of2.bin"}) {
      std::ofstream out(d + shard, std::ios::binary);
      for (int i = 0; i < 4096; ++i) out.put(static_cast<char>(i * 37));
    }
    return d;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string manifest = folder() + "/model.json";
  {
    std::ofstream out(manifest, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    modeldna::fuzz::touch(modeldna::io::detail::read_tfjs(manifest));
  } catch (const modeldna::Error&) {
  }
  return 0;
}
