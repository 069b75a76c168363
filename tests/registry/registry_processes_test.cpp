// The registry under real processes: `registry add` killed with SIGKILL at
// arbitrary moments loses nothing committed and leaves no half-written
// fingerprint; four concurrent `registry add` processes lose nothing, on
// SQLite and on a real PostgreSQL server this test starts itself (a
// throw-away cluster in a temporary folder, on a loopback port) and stops.
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "modeldna/core/error.h"
#include "modeldna/io/open_store.h"
#include "modeldna/registry/registry.h"
#include "processes.h"
#include "synthetic_models.h"
#include "test_support.h"

namespace modeldna::registry {
namespace {

namespace fs = std::filesystem;

using testing::PostgresServer;
using testing::slurp;
using testing::wait_exit_code;

pid_t spawn_cli(const std::vector<std::string>& args, const std::string& log) { return testing::spawn(MODELDNA_CLI_PATH, args, log); }

// Rows committed so far, read the way another process would (-1: unreadable yet).
int64_t committed_rows(const std::string& db) {
  sqlite3* h = nullptr;
  int64_t n = -1;
  if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_busy_timeout(h, 1000);
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(h, "SELECT count(*) FROM models", -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
      n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
  }
  sqlite3_close(h);
  return n;
}

std::string integrity(const std::string& db) {
  sqlite3* h = nullptr;
  std::string out = "cannot open";
  if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
      out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
  }
  sqlite3_close(h);
  return out;
}

// Every stored fingerprint decodes, belongs to one of `files`, and no
// content is there twice.
void expect_whole_rows(Registry& reg, const std::set<std::string>& files) {
  std::set<std::string> hashes;
  for (const auto& [record, fp] : reg.fingerprints()) {  // decodes every row
    EXPECT_TRUE(files.count(record.path)) << record.path;
    EXPECT_EQ(fp.content_hash, record.content_hash);
    EXPECT_FALSE(fp.sketch.tensors.empty()) << record.path;
    EXPECT_TRUE(hashes.insert(record.content_hash).second) << "twice: " << record.path;
  }
}

std::vector<std::string> write_models(const std::string& dir, const std::string& stem, int n, uint64_t seed) {
  std::vector<std::string> paths;
  for (int i = 0; i < n; ++i)
    paths.push_back(write_model(dir + "/" + stem + std::to_string(i) + ".safetensors", random_model(seed + i)));
  return paths;
}

std::vector<std::string> add_args(const std::vector<std::string>& files, const std::string& db) {
  std::vector<std::string> args = {"registry", "add"};
  args.insert(args.end(), files.begin(), files.end());
  args.push_back("--db");
  args.push_back(db);
  return args;
}

TEST(RegistryProcesses, KillNineDuringAddsLosesNothingCommitted) {
  const auto dir = testing::fresh_temp_dir();
  const auto files = write_models(dir, "m", 40, 100);
  const std::set<std::string> file_set(files.begin(), files.end());
  const std::string db = dir + "/crash.sqlite";
  std::mt19937 rng(7);
  int kills = 0;
  for (int round = 0; round < 12; ++round) {
    const pid_t pid = spawn_cli(add_args(files, db), dir + "/add.log");
    // Kill at a random moment once it has started committing; at most 30 s.
    const int64_t before = std::max<int64_t>(committed_rows(db), 0);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    int64_t seen = before;
    bool finished = false;
    while (std::chrono::steady_clock::now() < deadline) {
      if (waitpid(pid, nullptr, WNOHANG) == pid) {
        finished = true;
        break;
      }
      seen = std::max(seen, committed_rows(db));
      if (seen > before) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (finished) break;  // every file is in: nothing left to interrupt
    std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, 40000)(rng)));
    seen = std::max(seen, committed_rows(db));
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    ++kills;
    SCOPED_TRACE("after kill " + std::to_string(kills));
    EXPECT_EQ(integrity(db), "ok");
    Registry reg(db);
    EXPECT_GE(static_cast<int64_t>(reg.list().size()), seen);  // nothing committed was lost
    expect_whole_rows(reg, file_set);
  }
  EXPECT_GE(kills, 3) << "the adds finished before they could be interrupted";
  std::printf("registry add killed with SIGKILL %d times; every committed row survived\n", kills);
  // A run to the end brings in the rest, and each file once.
  EXPECT_EQ(wait_exit_code(spawn_cli(add_args(files, db), dir + "/add.log")), 0) << slurp(dir + "/add.log");
  Registry reg(db);
  EXPECT_EQ(reg.list().size(), files.size());
  expect_whole_rows(reg, file_set);
}

// Four processes at once: each adds the 12 shared files (starting at another
// one) and 3 of its own.
void four_concurrent_adds(const std::string& dir, const std::string& db, const std::string& what) {
  const auto shared = write_models(dir, what + "-shared", 12, 200);
  std::set<std::string> all(shared.begin(), shared.end());
  std::vector<pid_t> pids;
  for (int p = 0; p < 4; ++p) {
    std::vector<std::string> files;
    for (int i = 0; i < 12; ++i) files.push_back(shared[(i + 3 * p) % 12]);
    for (const auto& own : write_models(dir, what + "-own" + std::to_string(p) + "-", 3, 300 + 10 * p)) {
      files.push_back(own);
      all.insert(own);
    }
    pids.push_back(spawn_cli(add_args(files, db), dir + "/" + what + std::to_string(p) + ".log"));
  }
  for (int p = 0; p < 4; ++p)
    EXPECT_EQ(wait_exit_code(pids[p]), 0) << slurp(dir + "/" + what + std::to_string(p) + ".log");
  Registry reg(db);
  EXPECT_EQ(reg.list().size(), all.size());
  expect_whole_rows(reg, all);

  // --shard spreads one file list over workers; together they add it all.
  const auto batch = write_models(dir, what + "-batch", 6, 400);
  const pid_t a = spawn_cli([&] { auto v = add_args(batch, db); v.push_back("--shard"); v.push_back("0/2"); return v; }(),
                            dir + "/shard0.log");
  const pid_t b = spawn_cli([&] { auto v = add_args(batch, db); v.push_back("--shard"); v.push_back("1/2"); return v; }(),
                            dir + "/shard1.log");
  EXPECT_EQ(wait_exit_code(a), 0) << slurp(dir + "/shard0.log");
  EXPECT_EQ(wait_exit_code(b), 0) << slurp(dir + "/shard1.log");
  EXPECT_EQ(slurp(dir + "/shard0.log").find(batch[1]), std::string::npos);  // each took its own share
  Registry after(db);
  EXPECT_EQ(after.list().size(), all.size() + batch.size());

  // And the parent search runs against it.
  const auto child = write_model(dir + "/" + what + "-child.safetensors", perturbed(random_model(205), 9, 0.3f));
  const auto found = after.find(fingerprint_store(io::open_store(child)), {});
  ASSERT_TRUE(found.parent);
  EXPECT_EQ(found.parent->model.path, shared[5]);
}

// Reading many models at once: in the order asked, ids not there left out,
// and lists longer than one statement's parameters (SQLite reads in chunks).
void expect_batch_reads(const std::string& db) {
  auto database = open_database(db);
  const auto listed = database->list();
  ASSERT_GE(listed.size(), 3u);
  const int64_t removed = listed[1].id;
  ASSERT_TRUE(database->remove(removed));
  std::vector<int64_t> asked(1200, 0);
  for (std::size_t k = 0; k < asked.size(); ++k) asked[k] = 1000000 + static_cast<int64_t>(k);  // never registered
  asked[0] = listed.back().id;
  asked[700] = removed;
  asked[1100] = listed[0].id;
  const auto got = database->stored(asked);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].record.id, listed.back().id);
  EXPECT_EQ(got[0].record.path, listed.back().path);
  EXPECT_EQ(got[1].record.id, listed[0].id);
  EXPECT_EQ(decode(got[1].fingerprint, db).content_hash, listed[0].content_hash);
  EXPECT_TRUE(database->stored({}).empty());
}

// Names (schema version 2): set on add, found ignoring case, renamed by a
// second add, listed.
void expect_names(const std::string& location) {
  Registry reg(location);
  const auto models = reg.list();
  ASSERT_FALSE(models.empty());
  const auto fp = reg.show(std::to_string(models.front().id));
  ASSERT_TRUE(fp);
  reg.add(*fp, "Acme/Base-Model");
  ASSERT_EQ(reg.named("acme/base-model").size(), 1u);
  EXPECT_EQ(reg.named("acme/base-model")[0].id, models.front().id);
  reg.add(*fp, "renamed");
  EXPECT_TRUE(reg.named("acme/base-model").empty());
  EXPECT_EQ(reg.list().front().name, "renamed");
}

// A registry written before names existed (schema version 1) is migrated
// when opened: its models are kept, unnamed, and can be named.
TEST(RegistryProcesses, AVersionOneRegistryIsMigrated) {
  const auto dir = testing::fresh_temp_dir();
  const std::string path = dir + "/old.sqlite";
  {
    Registry reg(path);
    reg.add(fingerprint_store(io::open_store(write_model(dir + "/m.safetensors", random_model(3)))));
  }
  // Back to version 1, as an older build left it.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  for (const char* sql : {"DROP INDEX models_name", "ALTER TABLE models DROP COLUMN name",
                          "UPDATE modeldna_registry SET value = '1' WHERE key = 'schema'"})
    ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sql << ": " << sqlite3_errmsg(db);
  sqlite3_close(db);
  expect_names(path);
  Registry reg(path);
  EXPECT_EQ(reg.list().size(), 1u);
}

TEST(RegistryProcesses, FourConcurrentAddsOnSqliteLoseNothing) {
  const auto dir = testing::fresh_temp_dir();
  four_concurrent_adds(dir, dir + "/team.sqlite", "sqlite");
  expect_batch_reads(dir + "/team.sqlite");
}

// A throw-away PostgreSQL cluster; the server is stopped when this goes.
TEST(RegistryProcesses, FourConcurrentAddsOnPostgresqlLoseNothing) {
  PostgresServer server;
  if (!server.installed()) MODELDNA_MISSING("PostgreSQL's server (Debian package postgresql)");
  ASSERT_TRUE(server.started()) << server.logs();
  const auto dir = testing::fresh_temp_dir();
  testing::ScopedEnv cache("MODELDNA_CACHE_DIR", dir.c_str());  // the index cache of a server registry
  four_concurrent_adds(dir, server.url(), "pg");
  expect_batch_reads(server.url());
  expect_names(server.url());
  // A wrong password or an unreachable server is one line, without secrets.
  EXPECT_THROW_MSG(Registry{"postgresql://modeldna:secret@127.0.0.1:1/postgres"}, Error, "postgresql://modeldna:***@127.0.0.1:1");
}

}  // namespace
}  // namespace modeldna::registry
