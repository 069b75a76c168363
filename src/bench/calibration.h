// compare's false-positive rate, measured (docs/compare.md): its p-values on
// every same-architecture independent pair of a zoo, and on freshly
// initialised networks of the zoo's architectures, against the uniform
// distribution a valid test gives them.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "modeldna/evidence/probe_set.h"
#include "modeldna/zoo/zoo_models.h"

namespace modeldna::bench {

struct CalibrationResult {
  nlohmann::json json;
  std::string markdown;
};

/// Runs compare (white-box; the black-box part has no reference panel for
/// fresh networks) on the independent pairs, writes figures/compare-qq.svg
/// under `out_dir` when it is not empty.
CalibrationResult calibrate_compare(zoo::ZooModels& zoo, const std::map<std::string, evidence::ModelOutputs>& observed,
                                    int64_t fresh_per_arch, uint64_t seed, const std::string& out_dir);

}  // namespace modeldna::bench
