// The embedded registry: one SQLite file in WAL mode. A kill in the middle
// of an add leaves the last committed state (SQLite's journal), and several
// processes may add at once (writers wait for each other, up to a minute).
#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>

#include "database_common.h"
#include "modeldna/core/error.h"

namespace modeldna::registry {
namespace {

class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql, const std::string& where) : where_(where) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK)
      throw FormatError(where_, std::string("registry query failed: ") + sqlite3_errmsg(db));
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  void bind(int i, const std::string& text) { check(sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT)); }
  void bind(int i, int64_t v) { check(sqlite3_bind_int64(stmt_, i, v)); }
  void bind_blob(int i, const void* data, std::size_t size) {
    check(sqlite3_bind_blob64(stmt_, i, data, static_cast<sqlite3_uint64>(size), SQLITE_TRANSIENT));
  }
  /// true while there is a row.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw FormatError(where_, std::string("registry query failed: ") + sqlite3_errmsg(sqlite3_db_handle(stmt_)));
  }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
  }
  std::string blob(int col) const {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
  }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) throw InternalError("sqlite3_bind failed: " + std::string(sqlite3_errstr(rc)));
  }
  sqlite3_stmt* stmt_ = nullptr;
  const std::string& where_;
};

ModelRecord record_from(const Statement& s) {
  ModelRecord r;
  r.id = s.integer(0);
  r.path = s.text(1);
  r.content_hash = s.text(2);
  r.format = s.text(3);
  r.architecture = s.text(4);
  r.shape_signature = s.text(5);
  r.tensors_hash = s.text(6);
  r.input_kind = s.text(7);
  r.parameters = s.integer(8);
  r.fingerprint_bytes = s.integer(9);
  r.added_at = s.text(10);
  r.name = s.text(11);
  return r;
}

constexpr const char* kSqliteRecordColumns =
    "id, path, content_hash, format, architecture, shape_signature, tensors_hash, input_kind, parameters, length(fingerprint), added_at, name";
// Under SQLite's default limit of host parameters per statement (32,766).
constexpr std::size_t kIdsPerStatement = 500;

class SqliteDatabase final : public Database {
 public:
  explicit SqliteDatabase(const std::string& path) : path_(path) {
    const auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty() && !std::filesystem::exists(parent))
      throw FormatError(path, "the registry's folder does not exist");
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
      const std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw FormatError(path, "cannot open the registry: " + why);
    }
    sqlite3_busy_timeout(db_, 60000);
    try {
      exec("PRAGMA journal_mode=WAL");
      exec("PRAGMA synchronous=NORMAL");  // WAL: durable against a killed process, not a power cut mid-commit
      exec("PRAGMA foreign_keys=ON");
      exec("BEGIN IMMEDIATE");
      exec("CREATE TABLE IF NOT EXISTS modeldna_registry (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
      exec(std::string("CREATE TABLE IF NOT EXISTS models (id INTEGER PRIMARY KEY AUTOINCREMENT, ") + kModelColumnsSql + ")");
      exec("CREATE INDEX IF NOT EXISTS models_shape ON models(shape_signature)");
      exec("CREATE INDEX IF NOT EXISTS models_tensors ON models(tensors_hash)");
      exec("CREATE INDEX IF NOT EXISTS models_path ON models(path)");
      exec("CREATE INDEX IF NOT EXISTS models_inputs ON models(input_kind)");
      exec(std::string("INSERT INTO modeldna_registry VALUES ('schema', '") + kSchemaVersion + "') ON CONFLICT(key) DO NOTHING");
      std::string got;
      {
        Statement version(db_, "SELECT value FROM modeldna_registry WHERE key = 'schema'", path_);
        got = version.step() ? version.text(0) : "";
      }
      if (got == "1") {
        exec(kAddNameColumnSql);
        exec(std::string("UPDATE modeldna_registry SET value = '") + kSchemaVersion + "' WHERE key = 'schema'");
        got = kSchemaVersion;
      }
      exec("CREATE INDEX IF NOT EXISTS models_name ON models(lower(name))");
      exec(kAuditsTableSql);
      exec("COMMIT");
      if (got != kSchemaVersion)
        throw FormatError(path, "registry schema version '" + got + "', this build uses '" + kSchemaVersion + "'");
    } catch (...) {
      sqlite3_close(db_);
      throw;
    }
  }
  ~SqliteDatabase() override { sqlite3_close(db_); }

  std::vector<AddResult> add_many(const std::vector<const Fingerprint*>& fingerprints, const std::vector<std::string>& encoded,
                                  const std::vector<std::vector<float>>& anchors) override {
    MDNA_ASSERT(fingerprints.size() == encoded.size() && encoded.size() == anchors.size(), "add_many: sizes differ");
    std::vector<AddResult> out;
    exec("BEGIN IMMEDIATE");
    try {
      Statement insert(db_,
                       "INSERT INTO models (content_hash, path, format, architecture, shape_signature, tensors_hash, "
                       "input_kind, parameters, added_at, fingerprint, anchors) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
                       "ON CONFLICT(content_hash) DO NOTHING",
                       path_);
      Statement existing(db_, "SELECT id FROM models WHERE content_hash = ?1", path_);
      const std::string now = utc_now();
      for (std::size_t k = 0; k < fingerprints.size(); ++k) {
        const Fingerprint& f = *fingerprints[k];
        insert.bind(1, f.content_hash);
        insert.bind(2, f.path);
        insert.bind(3, std::string(io::format_name(f.format)));
        insert.bind(4, f.architecture);
        insert.bind(5, f.shape_signature);
        insert.bind(6, f.tensors_hash);
        insert.bind(7, f.outputs ? f.outputs->input_kind : std::string());
        insert.bind(8, f.parameters);
        insert.bind(9, now);
        insert.bind_blob(10, encoded[k].data(), encoded[k].size());
        insert.bind_blob(11, anchors[k].data(), anchors[k].size() * sizeof(float));
        insert.step();
        const bool added = sqlite3_changes(db_) > 0;
        insert.reset();
        existing.bind(1, f.content_hash);
        MDNA_ASSERT(existing.step(), "a row just inserted or found is missing");
        out.push_back({existing.integer(0), added});
        existing.reset();
      }
      exec("COMMIT");
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
    return out;
  }

  std::vector<ModelRecord> list() override {
    Statement s(db_, std::string("SELECT ") + kSqliteRecordColumns + " FROM models ORDER BY id", path_);
    std::vector<ModelRecord> out;
    while (s.step()) out.push_back(record_from(s));
    return out;
  }

  std::optional<ModelRecord> record(int64_t id) override {
    Statement s(db_, std::string("SELECT ") + kSqliteRecordColumns + " FROM models WHERE id = ?1", path_);
    s.bind(1, id);
    if (!s.step()) return std::nullopt;
    return record_from(s);
  }

  std::optional<ModelRecord> by_content_hash(const std::string& hash) override {
    Statement s(db_, std::string("SELECT ") + kSqliteRecordColumns + " FROM models WHERE content_hash = ?1", path_);
    s.bind(1, hash);
    if (!s.step()) return std::nullopt;
    return record_from(s);
  }

  std::vector<int64_t> ids_with_path(const std::string& path) override { return ids_where("path", path); }
  std::vector<int64_t> ids_with_tensors_hash(const std::string& hash) override { return ids_where("tensors_hash", hash); }

  std::pair<std::vector<int64_t>, int64_t> ids_with_shape(const std::string& signature, int64_t limit) override {
    Statement s(db_, "SELECT id FROM models WHERE shape_signature = ?1 ORDER BY id LIMIT ?2", path_);
    s.bind(1, signature);
    s.bind(2, limit + 1);
    std::vector<int64_t> out;
    while (s.step()) out.push_back(s.integer(0));
    const auto n = static_cast<int64_t>(out.size());
    if (n > limit) out.pop_back();
    return {out, n};
  }

  std::vector<int64_t> ids_with_input_kind(const std::string& kind, int64_t limit) override {
    Statement s(db_, "SELECT id FROM models WHERE input_kind = ?1 ORDER BY id LIMIT ?2", path_);
    s.bind(1, kind);
    s.bind(2, limit);
    std::vector<int64_t> out;
    while (s.step()) out.push_back(s.integer(0));
    return out;
  }

  std::vector<StoredModel> stored(const std::vector<int64_t>& ids) override {
    std::map<int64_t, StoredModel> found;
    for (std::size_t begin = 0; begin < ids.size(); begin += kIdsPerStatement) {
      const std::size_t end = std::min(ids.size(), begin + kIdsPerStatement);
      std::string sql = std::string("SELECT ") + kSqliteRecordColumns + ", fingerprint FROM models WHERE id IN (";
      for (std::size_t k = begin; k < end; ++k) sql += k == begin ? "?" : ",?";
      Statement s(db_, sql + ")", path_);
      for (std::size_t k = begin; k < end; ++k) s.bind(static_cast<int>(k - begin + 1), ids[k]);
      while (s.step()) {
        auto record = record_from(s);
        const int64_t id = record.id;
        found[id] = {std::move(record), s.blob(kRecordColumnCount)};
      }
    }
    return in_order(ids, found);
  }

  void set_name(int64_t id, const std::string& name) override {
    Statement s(db_, "UPDATE models SET name = ?1 WHERE id = ?2", path_);
    s.bind(1, name);
    s.bind(2, id);
    s.step();
  }

  std::vector<int64_t> ids_with_name(const std::string& name) override {
    Statement s(db_, "SELECT id FROM models WHERE lower(name) = lower(?1) ORDER BY id", path_);
    s.bind(1, name);
    std::vector<int64_t> out;
    while (s.step()) out.push_back(s.integer(0));
    return out;
  }

  bool remove(int64_t id) override {
    Statement s(db_, "DELETE FROM models WHERE id = ?1", path_);
    s.bind(1, id);
    s.step();
    return sqlite3_changes(db_) > 0;
  }

  std::vector<int64_t> ids() override {
    Statement s(db_, "SELECT id FROM models ORDER BY id", path_);
    std::vector<int64_t> out;
    while (s.step()) out.push_back(s.integer(0));
    return out;
  }

  int64_t count() override {
    Statement s(db_, "SELECT count(*) FROM models", path_);
    s.step();
    return s.integer(0);
  }

  std::vector<std::pair<int64_t, std::vector<float>>> anchors(const std::vector<int64_t>& ids) override {
    std::vector<std::pair<int64_t, std::vector<float>>> out;
    auto take = [&](Statement& s) {
      while (s.step()) out.emplace_back(s.integer(0), floats_from(s.blob(1), path_));
    };
    if (ids.empty()) {
      Statement s(db_, "SELECT id, anchors FROM models ORDER BY id", path_);
      take(s);
      return out;
    }
    Statement s(db_, "SELECT id, anchors FROM models WHERE id = ?1", path_);
    for (int64_t id : ids) {
      s.bind(1, id);
      take(s);
      s.reset();
    }
    return out;
  }

  std::optional<StoredAudit> stored_audit(const std::string& settings, const std::string& folder) override {
    Statement s(db_, "SELECT state, result FROM audits WHERE settings = ?1 AND folder = ?2", path_);
    s.bind(1, settings);
    s.bind(2, folder);
    if (!s.step()) return std::nullopt;
    return StoredAudit{s.text(0), s.text(1)};
  }

  void store_audit(const std::string& settings, const std::string& folder, const StoredAudit& audit) override {
    Statement s(db_,
                "INSERT INTO audits VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(settings, folder) DO UPDATE SET "
                "state = excluded.state, result = excluded.result, audited_at = excluded.audited_at",
                path_);
    s.bind(1, settings);
    s.bind(2, folder);
    s.bind(3, audit.state);
    s.bind(4, audit.result);
    s.bind(5, utc_now());
    s.step();
  }

  const std::string& location() const override { return path_; }

 private:
  void exec(const std::string& sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
      const std::string why = message ? message : sqlite3_errmsg(db_);
      sqlite3_free(message);
      throw FormatError(path_, "registry: " + why);
    }
  }

  std::vector<int64_t> ids_where(const char* column, const std::string& value) {
    Statement s(db_, std::string("SELECT id FROM models WHERE ") + column + " = ?1 ORDER BY id", path_);
    s.bind(1, value);
    std::vector<int64_t> out;
    while (s.step()) out.push_back(s.integer(0));
    return out;
  }

  std::string path_;
  sqlite3* db_ = nullptr;
};

}  // namespace

std::unique_ptr<Database> open_sqlite_database(const std::string& path) { return std::make_unique<SqliteDatabase>(path); }

}  // namespace modeldna::registry
