// File: modeldna/registry/search_index.h
// The nearest-neighbour index that narrows `find` to a few candidates before
// any test: FAISS's HNSW graph (inner product) over every model's anchor
// vectors (fingerprint.h). It is a cache of the database, kept in a local
// file and brought up to date when opened: models added since are inserted,
// removed ones are skipped at query time and dropped by a rebuild once they
// are a quarter of the index.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "modeldna/registry/database.h"

namespace modeldna::registry {

class SearchIndex {
 public:
  /// Loads the cache at `cache_path` (built from scratch when missing, stale
  /// or unreadable), syncs it with `db`, and saves it when it changed.
  SearchIndex(Database& db, std::string cache_path);
  ~SearchIndex();
  SearchIndex(const SearchIndex&) = delete;
  SearchIndex& operator=(const SearchIndex&) = delete;

  struct Hit {
    int64_t id;
    float score;  // over the query's anchors, the sum of each one's best inner product with the model's anchors
  };
  /// The models nearest to any of `queries` (anchor vectors), best first,
  /// at most `k` of them.
  std::vector<Hit> search(const std::vector<std::vector<float>>& queries, int k) const;

  /// Adds one model just committed to the database (and saves the cache).
  void add(int64_t id, const std::vector<float>& anchors);

  /// The models in the database as of opening, plus adds and removes since
  /// through this index.
  int64_t models() const { return static_cast<int64_t>(live_.size()); }
  bool holds(int64_t id) const { return live_.count(id) > 0; }
  /// Forgets a model just removed from the database (its vectors stay until a rebuild).
  void remove(int64_t id) { live_.erase(id); }
  int64_t vectors() const;
  /// What opening did: "loaded", "loaded and updated", "built".
  const std::string& how_opened() const { return how_opened_; }

 private:
  void build(Database& db);
  void insert(const std::vector<std::pair<int64_t, std::vector<float>>>& rows);
  void save() const;
  bool load();

  std::string cache_path_;
  struct Faiss;
  std::unique_ptr<Faiss> faiss_;
  std::unordered_set<int64_t> live_;     // ids in the database
  std::unordered_set<int64_t> indexed_;  // ids whose vectors the index holds
  std::string how_opened_;
};

/// Where the index cache of a registry lives: "<file>.index" beside an
/// SQLite file; for a server, $MODELDNA_CACHE_DIR (else $XDG_CACHE_HOME or
/// ~/.cache)/modeldna/<hash of the URL>.index.
std::string index_cache_path(const Database& db, const std::string& location);

}  // namespace modeldna::registry
