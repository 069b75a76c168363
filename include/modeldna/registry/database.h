// File: modeldna/registry/database.h
// Where a registry's fingerprints live: an SQLite file (the default, one
// user) or a PostgreSQL server (a team or a hub sharing one registry). Both
// keep the same table (docs/registry.md); each add is one transaction, and
// adding a file whose content is already there changes nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "modeldna/registry/fingerprint.h"

namespace modeldna::registry {

/// One registered model, without its fingerprint.
struct ModelRecord {
  int64_t id = 0;
  std::string path;
  std::string content_hash;
  std::string format;
  std::string architecture;
  std::string shape_signature;
  std::string tensors_hash;
  std::string input_kind;  // what its stored probe outputs were computed on; "" when it cannot run
  int64_t parameters = 0;
  int64_t fingerprint_bytes = 0;
  std::string added_at;  // UTC, ISO 8601
  std::string name;      // how users and model cards call it ("" when unnamed)
};

/// A registered model with its encoded fingerprint.
struct StoredModel {
  ModelRecord record;
  std::string fingerprint;
};

struct AddResult {
  int64_t id = 0;
  bool added = false;  // false: the same content was already registered (under `id`)
};

/// One folder's audit result as `audit` keeps it, so that an interrupted
/// run resumes where it stopped (audit/audit_run.h decides when it is reused).
struct StoredAudit {
  std::string state;   // the folder's files when it was audited
  std::string result;  // the result's JSON (docs/spec/audit-v1.md)
};

class Database {
 public:
  virtual ~Database() = default;
  /// Inserts one model in one transaction; idempotent by content hash.
  /// `anchors` are the index's vectors (anchor_vectors), concatenated.
  AddResult add(const Fingerprint& fingerprint, const std::string& encoded, const std::vector<float>& anchors) {
    return add_many({&fingerprint}, {encoded}, {anchors}).at(0);
  }
  /// Inserts many in one transaction (bulk loads, benchmarks).
  virtual std::vector<AddResult> add_many(const std::vector<const Fingerprint*>& fingerprints,
                                          const std::vector<std::string>& encoded,
                                          const std::vector<std::vector<float>>& anchors) = 0;
  virtual std::vector<ModelRecord> list() = 0;
  virtual std::optional<ModelRecord> record(int64_t id) = 0;
  virtual std::optional<ModelRecord> by_content_hash(const std::string& hash) = 0;
  /// Ids whose path is `path` (a file can be added, changed and added again).
  virtual std::vector<int64_t> ids_with_path(const std::string& path) = 0;
  virtual std::vector<int64_t> ids_with_tensors_hash(const std::string& hash) = 0;
  /// Up to `limit` ids sharing a shape signature, and how many share it,
  /// counted no further than limit + 1 (find only asks whether a bucket is
  /// small enough to test outright; counting a large one grew with the registry).
  virtual std::pair<std::vector<int64_t>, int64_t> ids_with_shape(const std::string& signature, int64_t limit) = 0;
  /// Up to `limit` ids whose stored outputs are on probes of `input_kind`.
  virtual std::vector<int64_t> ids_with_input_kind(const std::string& input_kind, int64_t limit) = 0;
  /// Those of `ids` still registered, with their fingerprints, in the order
  /// of `ids`, in as few queries as a statement's parameters allow (find
  /// reads its ~32 candidates at once, not 64 statements).
  virtual std::vector<StoredModel> stored(const std::vector<int64_t>& ids) = 0;
  /// Names (or renames) a registered model.
  virtual void set_name(int64_t id, const std::string& name) = 0;
  /// Ids whose name equals `name` ignoring ASCII case.
  virtual std::vector<int64_t> ids_with_name(const std::string& name) = 0;
  /// Removes one model; false when it was not there.
  virtual bool remove(int64_t id) = 0;
  virtual std::vector<int64_t> ids() = 0;
  virtual int64_t count() = 0;
  /// The anchor vectors of `ids` (all models when empty), as stored.
  virtual std::vector<std::pair<int64_t, std::vector<float>>> anchors(const std::vector<int64_t>& ids) = 0;
  /// The audit result kept for `folder` under `settings` (a digest of what
  /// the audit was asked), if any.
  virtual std::optional<StoredAudit> stored_audit(const std::string& settings, const std::string& folder) = 0;
  /// Keeps (or replaces) it; one transaction.
  virtual void store_audit(const std::string& settings, const std::string& folder, const StoredAudit& audit) = 0;
  /// How the user named it (a path, or a URL with any password hidden).
  virtual const std::string& location() const = 0;
};

/// Opens (creating when absent) the registry at `location`: a
/// "postgresql://" or "postgres://" URL, else an SQLite file path. Error for
/// a server that cannot be reached, FormatError for a file that is not a
/// modeldna registry or holds another schema version.
std::unique_ptr<Database> open_database(const std::string& location);

/// The default registry file: $MODELDNA_REGISTRY, else
/// $XDG_DATA_HOME/modeldna/registry.sqlite (~/.local/share/...).
std::string default_registry_location();

}  // namespace modeldna::registry
