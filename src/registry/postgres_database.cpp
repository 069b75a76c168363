// The shared registry: the same table on a PostgreSQL server (libpqxx).
// Concurrent adds from many processes or machines are safe: each is one
// transaction, and the unique content hash makes a repeated add a no-op.
#include <pqxx/pqxx>

#include <regex>

#include "database_common.h"
#include "modeldna/core/error.h"

namespace modeldna::registry {
namespace {

// The URL as shown to people: any password replaced.
std::string redacted(const std::string& url) {
  static const std::regex password(R"(^(postgres(?:ql)?://[^:/@]*):[^@]*@)");
  return std::regex_replace(url, password, "$1:***@");
}

std::string bytes_of(const pqxx::field& f) {
  const pqxx::binarystring b(f);
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

ModelRecord record_from(const pqxx::row& r) {
  ModelRecord m;
  m.id = r[0].as<int64_t>();
  m.path = r[1].as<std::string>();
  m.content_hash = r[2].as<std::string>();
  m.format = r[3].as<std::string>();
  m.architecture = r[4].as<std::string>();
  m.shape_signature = r[5].as<std::string>();
  m.tensors_hash = r[6].as<std::string>();
  m.input_kind = r[7].as<std::string>();
  m.parameters = r[8].as<int64_t>();
  m.fingerprint_bytes = r[9].as<int64_t>();
  m.added_at = r[10].as<std::string>();
  m.name = r[11].as<std::string>();
  return m;
}

constexpr const char* kPostgresRecordColumns =
    "id, path, content_hash, format, architecture, shape_signature, tensors_hash, input_kind, parameters, octet_length(fingerprint), added_at, name";

// Any key: it only has to be the same in every modeldna process.
constexpr int64_t kSchemaLock = 0x6d646e61;  // "mdna"

class PostgresDatabase final : public Database {
 public:
  explicit PostgresDatabase(const std::string& url) : location_(redacted(url)) {
    guard([&] {
      connection_ = std::make_unique<pqxx::connection>(url);
      pqxx::work w(*connection_);
      // Concurrent first uses would race on CREATE TABLE: one at a time.
      w.exec_params("SELECT pg_advisory_xact_lock($1)", kSchemaLock);
      w.exec("CREATE TABLE IF NOT EXISTS modeldna_registry (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
      std::string columns = kModelColumnsSql;
      for (std::size_t at; (at = columns.find("BLOB")) != std::string::npos;) columns.replace(at, 4, "BYTEA");
      w.exec("CREATE TABLE IF NOT EXISTS models (id BIGSERIAL PRIMARY KEY, " + columns + ")");
      w.exec("CREATE INDEX IF NOT EXISTS models_shape ON models(shape_signature)");
      w.exec("CREATE INDEX IF NOT EXISTS models_tensors ON models(tensors_hash)");
      w.exec("CREATE INDEX IF NOT EXISTS models_path ON models(path)");
      w.exec("CREATE INDEX IF NOT EXISTS models_inputs ON models(input_kind)");
      w.exec_params("INSERT INTO modeldna_registry VALUES ('schema', $1) ON CONFLICT (key) DO NOTHING", std::string(kSchemaVersion));
      const auto r = w.exec("SELECT value FROM modeldna_registry WHERE key = 'schema'");
      std::string got = r.empty() ? "" : r[0][0].as<std::string>();
      if (got == "1") {
        w.exec(kAddNameColumnSql);
        w.exec_params("UPDATE modeldna_registry SET value = $1 WHERE key = 'schema'", std::string(kSchemaVersion));
        got = kSchemaVersion;
      }
      w.exec("CREATE INDEX IF NOT EXISTS models_name ON models(lower(name))");
      w.exec(kAuditsTableSql);
      w.commit();
      if (got != kSchemaVersion)
        throw FormatError(location_, "registry schema version '" + got + "', this build uses '" + kSchemaVersion + "'");
    });
  }

  std::vector<AddResult> add_many(const std::vector<const Fingerprint*>& fingerprints, const std::vector<std::string>& encoded,
                                  const std::vector<std::vector<float>>& anchors) override {
    MDNA_ASSERT(fingerprints.size() == encoded.size() && encoded.size() == anchors.size(), "add_many: sizes differ");
    std::vector<AddResult> out;
    guard([&] {
      pqxx::work w(*connection_);
      const std::string now = utc_now();
      for (std::size_t k = 0; k < fingerprints.size(); ++k) {
        const Fingerprint& f = *fingerprints[k];
        const auto inserted = w.exec_params(
            "INSERT INTO models (content_hash, path, format, architecture, shape_signature, tensors_hash, input_kind, "
            "parameters, added_at, fingerprint, anchors) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
            "ON CONFLICT (content_hash) DO NOTHING RETURNING id",
            f.content_hash, f.path, std::string(io::format_name(f.format)), f.architecture, f.shape_signature,
            f.tensors_hash, f.outputs ? f.outputs->input_kind : std::string(), f.parameters, now, pqxx::binarystring(encoded[k].data(), encoded[k].size()),
            pqxx::binarystring(anchors[k].data(), anchors[k].size() * sizeof(float)));
        if (!inserted.empty()) {
          out.push_back({inserted[0][0].as<int64_t>(), true});
          continue;
        }
        const auto existing = w.exec_params("SELECT id FROM models WHERE content_hash = $1", f.content_hash);
        MDNA_ASSERT(!existing.empty(), "a row that conflicted on insert is missing");
        out.push_back({existing[0][0].as<int64_t>(), false});
      }
      w.commit();
    });
    return out;
  }

  std::vector<ModelRecord> list() override { return records(std::string("SELECT ") + kPostgresRecordColumns + " FROM models ORDER BY id"); }

  std::optional<ModelRecord> record(int64_t id) override {
    auto r = records(std::string("SELECT ") + kPostgresRecordColumns + " FROM models WHERE id = $1", id);
    if (r.empty()) return std::nullopt;
    return r[0];
  }

  std::optional<ModelRecord> by_content_hash(const std::string& hash) override {
    auto r = records(std::string("SELECT ") + kPostgresRecordColumns + " FROM models WHERE content_hash = $1", hash);
    if (r.empty()) return std::nullopt;
    return r[0];
  }

  std::vector<int64_t> ids_with_path(const std::string& path) override {
    return id_list("SELECT id FROM models WHERE path = $1 ORDER BY id", path);
  }
  std::vector<int64_t> ids_with_tensors_hash(const std::string& hash) override {
    return id_list("SELECT id FROM models WHERE tensors_hash = $1 ORDER BY id", hash);
  }

  std::pair<std::vector<int64_t>, int64_t> ids_with_shape(const std::string& signature, int64_t limit) override {
    std::pair<std::vector<int64_t>, int64_t> out;
    guard([&] {
      pqxx::read_transaction w(*connection_);
      for (const auto& row : w.exec_params("SELECT id FROM models WHERE shape_signature = $1 ORDER BY id LIMIT $2", signature, limit + 1))
        out.first.push_back(row[0].as<int64_t>());
      out.second = static_cast<int64_t>(out.first.size());
      if (out.second > limit) out.first.pop_back();
    });
    return out;
  }

  std::vector<int64_t> ids_with_input_kind(const std::string& kind, int64_t limit) override {
    return id_list("SELECT id FROM models WHERE input_kind = $1 ORDER BY id LIMIT $2", kind, limit);
  }

  std::vector<StoredModel> stored(const std::vector<int64_t>& ids) override {
    if (ids.empty()) return {};
    std::map<int64_t, StoredModel> found;
    std::string array = "{";
    for (std::size_t k = 0; k < ids.size(); ++k) array += (k ? "," : "") + std::to_string(ids[k]);
    array += "}";
    guard([&] {
      pqxx::read_transaction w(*connection_);
      for (const auto& row : w.exec_params(std::string("SELECT ") + kPostgresRecordColumns +
                                               ", fingerprint FROM models WHERE id = ANY($1::bigint[])",
                                           array)) {
        auto record = record_from(row);
        const int64_t id = record.id;
        found[id] = {std::move(record), bytes_of(row[kRecordColumnCount])};
      }
    });
    return in_order(ids, found);
  }

  void set_name(int64_t id, const std::string& name) override {
    guard([&] {
      pqxx::work w(*connection_);
      w.exec_params("UPDATE models SET name = $1 WHERE id = $2", name, id);
      w.commit();
    });
  }

  std::vector<int64_t> ids_with_name(const std::string& name) override {
    return id_list("SELECT id FROM models WHERE lower(name) = lower($1) ORDER BY id", name);
  }

  bool remove(int64_t id) override {
    bool removed = false;
    guard([&] {
      pqxx::work w(*connection_);
      removed = w.exec_params("DELETE FROM models WHERE id = $1", id).affected_rows() > 0;
      w.commit();
    });
    return removed;
  }

  std::vector<int64_t> ids() override { return id_list("SELECT id FROM models ORDER BY id"); }

  int64_t count() override {
    int64_t n = 0;
    guard([&] {
      pqxx::read_transaction w(*connection_);
      n = w.exec("SELECT count(*) FROM models")[0][0].as<int64_t>();
    });
    return n;
  }

  std::vector<std::pair<int64_t, std::vector<float>>> anchors(const std::vector<int64_t>& ids) override {
    std::vector<std::pair<int64_t, std::vector<float>>> out;
    guard([&] {
      pqxx::read_transaction w(*connection_);
      auto take = [&](const pqxx::result& r) {
        for (const auto& row : r) out.emplace_back(row[0].as<int64_t>(), floats_from(bytes_of(row[1]), location_));
      };
      if (ids.empty()) {
        take(w.exec("SELECT id, anchors FROM models ORDER BY id"));
        return;
      }
      for (int64_t id : ids) take(w.exec_params("SELECT id, anchors FROM models WHERE id = $1", id));
    });
    return out;
  }

  std::optional<StoredAudit> stored_audit(const std::string& settings, const std::string& folder) override {
    std::optional<StoredAudit> out;
    guard([&] {
      pqxx::read_transaction w(*connection_);
      const auto r = w.exec_params("SELECT state, result FROM audits WHERE settings = $1 AND folder = $2", settings, folder);
      if (!r.empty()) out = StoredAudit{r[0][0].as<std::string>(), r[0][1].as<std::string>()};
    });
    return out;
  }

  void store_audit(const std::string& settings, const std::string& folder, const StoredAudit& audit) override {
    guard([&] {
      pqxx::work w(*connection_);
      w.exec_params(
          "INSERT INTO audits VALUES ($1, $2, $3, $4, $5) ON CONFLICT (settings, folder) DO UPDATE SET "
          "state = excluded.state, result = excluded.result, audited_at = excluded.audited_at",
          settings, folder, audit.state, audit.result, utc_now());
      w.commit();
    });
  }

  const std::string& location() const override { return location_; }

 private:
  // libpqxx's exceptions as modeldna's: a server problem is the user's to fix.
  template <typename F>
  void guard(F&& f) {
    try {
      f();
    } catch (const pqxx::broken_connection& e) {
      throw Error(location_ + ": cannot reach the PostgreSQL server: " + first_line(e.what()));
    } catch (const pqxx::sql_error& e) {
      throw Error(location_ + ": PostgreSQL: " + first_line(e.what()));
    }
  }

  static std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

  template <typename... Args>
  std::vector<ModelRecord> records(const std::string& sql, Args&&... args) {
    std::vector<ModelRecord> out;
    guard([&] {
      pqxx::read_transaction w(*connection_);
      for (const auto& row : w.exec_params(sql, std::forward<Args>(args)...)) out.push_back(record_from(row));
    });
    return out;
  }

  template <typename... Args>
  std::vector<int64_t> id_list(const std::string& sql, Args&&... args) {
    std::vector<int64_t> out;
    guard([&] {
      pqxx::read_transaction w(*connection_);
      for (const auto& row : w.exec_params(sql, std::forward<Args>(args)...)) out.push_back(row[0].template as<int64_t>());
    });
    return out;
  }

  std::string location_;
  std::unique_ptr<pqxx::connection> connection_;
};

}  // namespace

std::unique_ptr<Database> open_postgres_database(const std::string& url) { return std::make_unique<PostgresDatabase>(url); }

}  // namespace modeldna::registry
