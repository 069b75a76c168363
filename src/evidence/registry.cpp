#include <functional>

#include "detectors.h"

namespace modeldna::evidence {
namespace {

struct Entry {
  const char* name;
  std::function<std::unique_ptr<Detector>()> make;
};

// The one table of detectors: a new one is a file plus a line here. Names
// must equal each detector's name().
const std::vector<Entry>& table() {
  static const std::vector<Entry> entries = {
      {"agreement", make_output_agreement}, {"modeldiff", make_modeldiff}, {"sac", make_sac},
      {"akh", make_akh},                    {"weights", make_weights},     {"weights-perm", make_weights_perm},
      {"compare", make_compare},
  };
  return entries;
}

}  // namespace

std::unique_ptr<Detector> make_detector(const std::string& name) {
  std::string known;
  for (const auto& entry : table()) {
    if (name == entry.name) return entry.make();
    known += (known.empty() ? "" : ", ") + std::string(entry.name);
  }
  throw UsageError("unknown detector '" + name + "' (known: " + known + ")");
}

std::vector<std::string> detector_names() {
  std::vector<std::string> names;
  for (const auto& entry : table()) names.emplace_back(entry.name);
  return names;
}

}  // namespace modeldna::evidence
