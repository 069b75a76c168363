// File: modeldna/registry/registry.h
// A registry of model fingerprints and the question it answers: "which of
// the models we know, if any, is this one derived from?" (docs/registry.md).
// Torch-free: outputs on probes, for models that run, are computed by the
// caller (evidence/fingerprint_probes.h) and stored in the fingerprint.
//
//   Registry reg("team.sqlite");
//   reg.add(fingerprint_store(io::open_store("child.safetensors")));
//   const auto found = reg.find(query, {});
//   if (found.parent) ...
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "modeldna/compare/sketch.h"
#include "modeldna/registry/database.h"
#include "modeldna/registry/fingerprint.h"
#include "modeldna/registry/search_index.h"

namespace modeldna::registry {

/// Is the candidate older than the query (its parent side) or younger?
enum class Direction : uint8_t { CandidateIsParent, CandidateIsChild, Undetermined };
std::string_view direction_name(Direction d);  // "parent", "child", "undetermined"

struct FindOptions {
  int top = 5;              // candidates reported
  double alpha = 0.01;      // family-wise level, after the correction for the registry's size
  int neighbours = 32;      // models the index proposes before any test
  int64_t bucket_scan = 64; // models of the query's shape bucket tested outright when there are at most this many
};

/// How `find` came to test a registered model.
enum class FoundBy : uint8_t {
  TensorHashes,  // the same set of tensors (renamed or re-sharded)
  Index,         // the nearest-neighbour index of sketch anchors
  ShapeBucket,   // every model of the query's architecture, when few
  ProbeOutputs,  // outputs on the standard probes (behaviour; no weights in common)
};
std::string_view found_by_name(FoundBy f);  // "tensor hashes", "index", "shape bucket", "outputs on standard probes"

struct Candidate {
  ModelRecord model;
  double log10_p = 0;           // the sketch test, uncorrected
  double log10_p_adjusted = 0;  // Holm over every model the registry holds
  /// The same tensors, or a sketched layer equal float for float: a copy,
  /// significant whatever the p-values say (they are reported as tested).
  bool copied = false;
  bool significant = false;
  double closeness = 0;         // compare_sketches' closeness (1: a copy)
  compare::Relation relation = compare::Relation::None;  // how the query came from it, if it is the parent
  Direction direction = Direction::Undetermined;
  std::string direction_reason;
  int64_t layers_tested = 0, layers_derived = 0;
  double index_score = 0;       // what the index saw (NaN-free; 0 when found another way)
  FoundBy found_by = FoundBy::Index;
  nlohmann::json evidence = nlohmann::json::object();  // black-box numbers when they were used
};

/// find's note when white-box evidence found nothing to test and the query
/// cannot run (so no outputs to judge it on either).
inline constexpr const char* kQueryCannotRunNote =
    "the query cannot run (no built-in architecture): no black-box evidence either";
/// find's note when the query has outputs but the caller runs no models
/// (registry::StoreFingerprinter): its outputs were not compared.
inline constexpr const char* kOutputsNeedARunnerNote =
    "the query's outputs on standard probes were not compared: this run reads weights only";

struct FindResult {
  std::optional<Candidate> parent;      // the query's parent in the lineage of its closest relatives
  std::vector<ModelRecord> also_from;   // other donors, when the query was assembled from several models' layers
  std::vector<Candidate> candidates;    // tested, best first (at most `top`)
  std::optional<ModelRecord> same_file; // the query itself is registered (same content)
  int64_t registry_models = 0;          // the N of the correction
  int64_t tested = 0;                   // sketch tests run
  std::string index;                    // how the index was opened
  nlohmann::json notes = nlohmann::json::array();
  nlohmann::json timings = nlohmann::json::object();
};

class Registry {
 public:
  /// Opens the registry at `location` (database.h), and its index lazily.
  explicit Registry(const std::string& location);
  ~Registry();

  Database& database() { return *db_; }
  /// Adds a fingerprint (one transaction; idempotent by content hash), and
  /// names it when `name` is not empty (a model added again is renamed).
  AddResult add(const Fingerprint& fingerprint, const std::string& name = "");
  /// The models called `name` (ignoring ASCII case), oldest first.
  std::vector<ModelRecord> named(const std::string& name);
  std::vector<ModelRecord> list() { return db_->list(); }
  /// Removes by id, or every model added from `path`; how many went.
  int64_t remove(const std::string& id_or_path);
  /// The stored fingerprint of a model named by id, path or content hash.
  std::optional<Fingerprint> show(const std::string& id_or_path);
  /// The models, if any, `query` is derived from.
  FindResult find(const Fingerprint& query, const FindOptions& options);
  /// Decoded fingerprints of the given ids (all models when empty).
  std::vector<std::pair<ModelRecord, Fingerprint>> fingerprints(const std::vector<int64_t>& ids = {});

  SearchIndex& index();

 private:
  struct Proposals;  // registry.cpp: what find tests, and how each came up
  struct Tested;     // registry.cpp: the candidates tested so far, with what their tests read
  std::vector<int64_t> resolve(const std::string& id_or_path);
  Proposals propose(const Fingerprint& query, const FindOptions& options, FindResult& result);
  void test_candidates(const Fingerprint& query, const FindOptions& options, const std::vector<int64_t>& ids,
                       Proposals& proposals, Tested& tested);
  void place_in_lineage(const Fingerprint& query, const FindOptions& options, Tested& tested, FindResult& result);
  std::string location_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<SearchIndex> index_;
};

/// Holm's step-down correction over `registry_models` hypotheses, of which
/// `candidates` were tested (the others count with p = 1): sorts them by
/// p-value and fills log10_p_adjusted and significant (at `alpha`).
void apply_holm(std::vector<Candidate>& candidates, int64_t registry_models, double alpha);

/// The result as --json prints it (docs/registry.md).
nlohmann::json to_json(const FindResult& result);

}  // namespace modeldna::registry
