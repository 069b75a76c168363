// File: modeldna/registry/scale_bench.h
// How `find` scales (`modeldna registry bench`; BENCHMARKS.md, "Registry at
// scale"). A registry of real fingerprints seeds a synthetic one that grows
// to each requested size; at each size, queries are timed after the
// registry is open.
//
// How the synthetic fingerprints are made from the real ones:
// - an independent model: a real fingerprint with every sketched tensor's
//   values shuffled across all its positions (the value distribution kept,
//   every unit's identity destroyed), fresh hashes;
// - a derived model (a fifth of them): an earlier synthetic model with
//   Gaussian noise of 30% of each tensor's spread added, as a fine-tune.
// Queries: fresh children of registered models (their parent is known) and
// fresh independent models (no parent), half each, never registered.
// Torch-free.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "modeldna/registry/fingerprint.h"

namespace modeldna::registry {

struct ScaleBenchOptions {
  std::string seed_registry;  // a registry of real fingerprints to grow from
  std::string out_dir;        // where the synthetic registry (scale.sqlite) goes
  std::vector<int64_t> sizes = {1000, 10000, 100000};  // increasing
  int queries = 200;          // per size, half with a registered parent
  uint64_t seed = 1;
};

/// One size's measurements.
struct ScaleRow {
  int64_t models = 0;
  double add_seconds = 0, index_build_seconds = 0;
  double find_median_ms = 0, find_p90_ms = 0, find_median_derived_ms = 0, find_median_independent_ms = 0;
  double median_search_ms = 0, median_tests_ms = 0, median_rest_ms = 0;  // find's own timings: index, tests, lineage
  int parents_right = 0, parents = 0, no_parent_right = 0, no_parent = 0;
  double disk_bytes_per_model = 0, rss_mb = 0;
};
nlohmann::json to_json(const ScaleRow& row);

/// Runs every size; `on_row` sees each row as it is measured.
std::vector<ScaleRow> run_scale_bench(const ScaleBenchOptions& options, const std::function<void(const ScaleRow&)>& on_row);

/// The synthetic models (above), with fresh identities at `path`.
Fingerprint independent_from(const Fingerprint& real, std::mt19937_64& rng, const std::string& path);
Fingerprint child_of(const Fingerprint& parent, std::mt19937_64& rng, const std::string& path);

/// The q-quantile of `values` by the nearest rank (values[round(q (n - 1))]
/// once sorted; 0 for none).
double percentile(std::vector<double> values, double q);

}  // namespace modeldna::registry
