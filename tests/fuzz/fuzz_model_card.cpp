// libFuzzer target: a model card's YAML front matter (audit/model_folder.h),
// which audit reads from folders of unknown origin. Bad cards must end in a
// FormatError naming the file; yaml-cpp's own exceptions must not escape.
#include <cstddef>
#include <cstdint>
#include <string>

#include "modeldna/audit/model_folder.h"
#include "modeldna/core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Most inputs should reach the parser: give them the front matter's fences.
  const std::string body(reinterpret_cast<const char*>(data), size);
  for (const std::string& text : {body, "---\n" + body + "\n---\n"}) {
    try {
      (void)modeldna::audit::parse_model_card("fuzz/README.md", text);
    } catch (const modeldna::FormatError&) {
    }
  }
  return 0;
}
