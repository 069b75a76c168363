// Private to registry: what the SQLite and PostgreSQL databases share.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "modeldna/registry/database.h"

namespace modeldna::registry {

/// The registry's schema; a database holding another version is refused.
/// Version 2 added the models' names (`registry add --name`); a version-1
/// database is migrated when opened.
inline constexpr const char* kSchemaVersion = "2";

/// The columns of `models` after its id, in both databases ("BLOB" is
/// replaced by "BYTEA" for PostgreSQL).
inline constexpr const char* kModelColumnsSql =
    "content_hash TEXT NOT NULL UNIQUE, path TEXT NOT NULL, format TEXT NOT NULL, architecture TEXT NOT NULL, "
    "shape_signature TEXT NOT NULL, tensors_hash TEXT NOT NULL, input_kind TEXT NOT NULL, parameters BIGINT NOT NULL, added_at TEXT NOT NULL, "
    "fingerprint BLOB NOT NULL, anchors BLOB NOT NULL, name TEXT NOT NULL DEFAULT ''";

/// How many columns each database's record query selects before the
/// fingerprint (id, path, content_hash, format, architecture,
/// shape_signature, tensors_hash, input_kind, parameters, the fingerprint's
/// length, added_at, name).
inline constexpr int kRecordColumnCount = 12;

/// What migrates a version-1 `models` table to version 2 (both databases).
inline constexpr const char* kAddNameColumnSql = "ALTER TABLE models ADD COLUMN name TEXT NOT NULL DEFAULT ''";

/// Audit results (`audit --db`), beside the models. A table added in place:
/// older builds never read it, so the schema version stays.
inline constexpr const char* kAuditsTableSql =
    "CREATE TABLE IF NOT EXISTS audits (settings TEXT NOT NULL, folder TEXT NOT NULL, state TEXT NOT NULL, "
    "result TEXT NOT NULL, audited_at TEXT NOT NULL, PRIMARY KEY (settings, folder))";

/// The models of `found` in the order of `ids` (a removed one is left out).
std::vector<StoredModel> in_order(const std::vector<int64_t>& ids, std::map<int64_t, StoredModel>& found);

/// The current time, UTC, ISO 8601 to the second.
std::string utc_now();

/// Anchor vectors as stored (little-endian float32); FormatError naming
/// `where` when the length is not a whole number of vectors.
std::vector<float> floats_from(const std::string& bytes, const std::string& where);

std::unique_ptr<Database> open_sqlite_database(const std::string& path);
std::unique_ptr<Database> open_postgres_database(const std::string& url);

}  // namespace modeldna::registry
