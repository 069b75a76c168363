// File: modeldna/evidence/detector.h
// One interface for every provenance signal: given a source and a target,
// a score (higher = more likely derived from the source) and its evidence.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "modeldna/evidence/probe_set.h"

namespace modeldna::evidence {

struct Evidence {
  double score = 0;          // higher = more likely derived
  bool applicable = true;    // false: this detector cannot compare these two (says why in details)
  nlohmann::json details;    // the numbers behind the score
};

class Detector {
 public:
  virtual ~Detector() = default;
  /// Stable short name ("modeldiff", "weights", ...).
  virtual std::string name() const = 0;
  /// The paper it follows, one line.
  virtual std::string reference() const = 0;
  /// `probes` is the set both ModelOutputs were observed on.
  virtual Evidence compare(const ProbeSet& probes, const ModelOutputs& source, const ModelOutputs& target) = 0;
  /// The same with a reference panel: models known to be independent of the
  /// source (observed on `probes` too), for detectors that calibrate against
  /// one; the others ignore it.
  virtual Evidence compare(const ProbeSet& probes, const ModelOutputs& source, const ModelOutputs& target,
                           const std::vector<const ModelOutputs*>& references) {
    (void)references;
    return compare(probes, source, target);
  }
};

/// What a detector reads of the two models.
enum class Access {
  BlackBox,  // outputs on probes only
  WhiteBox,  // the weights
  Both,      // compare: the weights, fused with the outputs when both run
};

/// What some detectors need besides the two models.
struct DetectorOptions {
  std::string mgmp_detector_dir;  // "mgmp": a detector trained by `modeldna train`
};

/// One line of the detector table.
struct DetectorInfo {
  std::string name;
  Access access;
  bool needs_mgmp_detector = false;  // usable only with DetectorOptions::mgmp_detector_dir
};

/// Every detector, in the table's order (the one place a detector is listed).
const std::vector<DetectorInfo>& detector_table();
/// The detectors by name; UsageError for an unknown one, or for one whose
/// needs `options` do not meet.
std::unique_ptr<Detector> make_detector(const std::string& name, const DetectorOptions& options = {});
std::vector<std::string> detector_names();
/// The names of the detectors `options` can make (every one but "mgmp"
/// without a detector directory).
std::vector<std::string> available_detector_names(const DetectorOptions& options);

}  // namespace modeldna::evidence
