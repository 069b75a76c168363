// File: modeldna/bench/provbench.h
// ProvBench: every detector on every (source, candidate) pair of a zoo, per
// relation, with thresholds calibrated on the training split only.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace modeldna::bench {

struct BenchOptions {
  std::string zoo_dir;
  /// Detector names (evidence::detector_names()); empty = every one available.
  std::vector<std::string> detectors;
  /// An MGMP detector directory; without it "mgmp" is skipped.
  std::string mgmp_detector_dir;
  int64_t probes = 300;  // probe set shared by the black-box detectors
  uint64_t seed = 0;
  /// compare's calibration: fresh networks per architecture compared with
  /// the sources and each other.
  int64_t fresh_networks = 10;
  /// Writes bench.md, bench.json and figures/*.svg here; "" = write nothing.
  std::string out_dir;
};

struct BenchResult {
  nlohmann::json json;
  std::string markdown;
};

BenchResult run_bench(const BenchOptions& options, const std::function<void(const std::string&)>& log = {});

}  // namespace modeldna::bench
