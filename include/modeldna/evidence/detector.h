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

/// The built-in detectors by name; UsageError for an unknown one.
std::unique_ptr<Detector> make_detector(const std::string& name);
std::vector<std::string> detector_names();

}  // namespace modeldna::evidence
