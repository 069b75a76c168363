#include <functional>

#include "detectors.h"
#include "modeldna/evidence/mgmp_evidence.h"

namespace modeldna::evidence {
namespace {

struct Entry {
  DetectorInfo info;
  std::function<std::unique_ptr<Detector>(const DetectorOptions&)> make;
};

template <std::unique_ptr<Detector> (*Make)()>
std::unique_ptr<Detector> plain(const DetectorOptions&) {
  return Make();
}

std::unique_ptr<Detector> make_mgmp(const DetectorOptions& options) {
  MDNA_CHECK(!options.mgmp_detector_dir.empty(),
             "detector 'mgmp' needs a trained detector's folder (from `modeldna train`)");
  return std::make_unique<MgmpEvidence>(options.mgmp_detector_dir);
}

// The one table of detectors: a new one is a file plus a line here. Names
// must equal each detector's name().
const std::vector<Entry>& table() {
  static const std::vector<Entry> entries = {
      {{"mgmp", Access::BlackBox, true}, make_mgmp},
      {{"agreement", Access::BlackBox}, plain<make_output_agreement>},
      {{"modeldiff", Access::BlackBox}, plain<make_modeldiff>},
      {{"sac", Access::BlackBox}, plain<make_sac>},
      {{"akh", Access::BlackBox}, plain<make_akh>},
      {{"weights", Access::WhiteBox}, plain<make_weights>},
      {{"weights-perm", Access::WhiteBox}, plain<make_weights_perm>},
      {{"compare", Access::Both}, plain<make_compare>},
  };
  return entries;
}

bool available(const DetectorInfo& info, const DetectorOptions& options) {
  return !info.needs_mgmp_detector || !options.mgmp_detector_dir.empty();
}

}  // namespace

const std::vector<DetectorInfo>& detector_table() {
  static const std::vector<DetectorInfo> infos = [] {
    std::vector<DetectorInfo> out;
    for (const auto& entry : table()) out.push_back(entry.info);
    return out;
  }();
  return infos;
}

std::unique_ptr<Detector> make_detector(const std::string& name, const DetectorOptions& options) {
  std::string known;
  for (const auto& entry : table()) {
    if (name == entry.info.name) return entry.make(options);
    known += (known.empty() ? "" : ", ") + entry.info.name;
  }
  throw UsageError("unknown detector '" + name + "' (known: " + known + ")");
}

std::vector<std::string> detector_names() {
  std::vector<std::string> names;
  for (const auto& info : detector_table()) names.push_back(info.name);
  return names;
}

std::vector<std::string> available_detector_names(const DetectorOptions& options) {
  std::vector<std::string> names;
  for (const auto& info : detector_table())
    if (available(info, options)) names.push_back(info.name);
  return names;
}

}  // namespace modeldna::evidence
