// modeldna registry bench: `find` at scale (BENCHMARKS.md, "Registry at
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
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>

#include "cli_support.h"
#include "commands.h"
#include "modeldna/core/error.h"
#include "modeldna/core/json_file.h"
#include "modeldna/registry/registry.h"

namespace modeldna::cli {
namespace {

struct BenchRegistryOptions {
  std::string seed_db, out;
  std::vector<int64_t> sizes = {1000, 10000, 100000};
  int queries = 200;
  uint64_t seed = 1;
  bool json = false;
};

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

std::string random_hex(std::mt19937_64& rng, int digits) {
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < digits; ++i) s += hex[rng() & 15];
  return s;
}

void fresh_identity(registry::Fingerprint& f, std::mt19937_64& rng, const std::string& path) {
  f.path = path;
  f.content_hash = random_hex(rng, 64);
  f.tensors_hash = random_hex(rng, 16);
  for (auto& h : f.tensor_hashes) h = rng();
  f.outputs.reset();
}

registry::Fingerprint independent_from(const registry::Fingerprint& real, std::mt19937_64& rng, const std::string& path) {
  auto f = real;
  for (auto& t : f.sketch.tensors) t.edit_values([&](std::vector<float>& v) { std::shuffle(v.begin(), v.end(), rng); });
  fresh_identity(f, rng, path);
  return f;
}

registry::Fingerprint child_of(const registry::Fingerprint& parent, std::mt19937_64& rng, const std::string& path) {
  auto f = parent;
  for (auto& t : f.sketch.tensors)
    t.edit_values([&](std::vector<float>& values) {
      double ss = 0;
      for (float v : values) ss += static_cast<double>(v) * v;
      std::normal_distribution<float> noise(0.0f, 0.3f * static_cast<float>(std::sqrt(ss / static_cast<double>(std::max<std::size_t>(1, values.size())))));
      for (float& v : values) v += noise(rng);
    });
  fresh_identity(f, rng, path);
  return f;
}

int64_t resident_kb() {
  std::ifstream in("/proc/self/status");
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") {
      int64_t kb = 0;
      in >> kb;
      return kb;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

int64_t file_bytes(const std::string& path) {
  std::error_code ec;
  const auto n = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<int64_t>(n);
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5)];
}

void run_bench(const BenchRegistryOptions& o) {
  MDNA_CHECK(o.queries >= 2, "--queries must be at least 2");
  MDNA_CHECK(!o.sizes.empty() && std::is_sorted(o.sizes.begin(), o.sizes.end()), "--sizes must be increasing");
  std::vector<registry::Fingerprint> real;
  {
    registry::Registry seed(o.seed_db);
    for (auto& [record, fp] : seed.fingerprints()) real.push_back(std::move(fp));
  }
  if (real.empty()) throw Error(o.seed_db + ": the seed registry is empty");
  make_directories(o.out);
  const std::string db = o.out + "/scale.sqlite";
  for (const auto& suffix : {"", "-wal", "-shm", ".index"}) std::filesystem::remove(db + suffix);
  std::mt19937_64 rng(o.seed);
  // A uniform sample of the registered synthetic models (reservoir): the
  // parents of later children and of the queries. All 100,000 sketches
  // would not fit in memory.
  constexpr std::size_t kPool = 2000;
  std::vector<registry::Fingerprint> kept;
  nlohmann::json rows = nlohmann::json::array();
  if (!o.json)
    std::printf("| models | add s | index build s | find median ms | p90 ms | median derived / independent ms | "
                "median index / tests / rest ms | parents right | no parent right | disk B/model | RSS MB |\n"
                "|---|---|---|---|---|---|---|---|---|---|---|\n");
  int64_t have = 0;
  for (int64_t size : o.sizes) {
    const auto add_start = Clock::now();
    {
      auto database = registry::open_database(db);
      constexpr int64_t kBatch = 500;
      while (have < size) {
        std::vector<registry::Fingerprint> batch;
        for (int64_t i = have; i < std::min(size, have + kBatch); ++i) {
          const std::string path = "/synthetic/model-" + std::to_string(i) + ".safetensors";
          const bool derived = i > 0 && std::uniform_real_distribution<double>(0, 1)(rng) < 0.2;
          const auto* parent = kept.empty() ? nullptr : &kept[rng() % kept.size()];
          batch.push_back(derived && parent ? child_of(*parent, rng, path) : independent_from(real[rng() % real.size()], rng, path));
        }
        std::vector<const registry::Fingerprint*> ptrs;
        std::vector<std::string> encoded;
        std::vector<std::vector<float>> anchors;
        for (const auto& f : batch) {
          ptrs.push_back(&f);
          encoded.push_back(registry::encode(f));
          std::vector<float> flat;
          for (const auto& a : registry::anchor_vectors(f.sketch)) flat.insert(flat.end(), a.begin(), a.end());
          anchors.push_back(std::move(flat));
        }
        database->add_many(ptrs, encoded, anchors);
        for (auto& f : batch) {
          f.tensor_hashes.clear();  // only the sketch values are needed later
          for (auto& t : f.sketch.tensors) t.drop_unit_rows();
          const auto slot = static_cast<std::size_t>(rng() % static_cast<uint64_t>(have + 1));
          if (kept.size() < kPool) kept.push_back(std::move(f));
          else if (slot < kPool) kept[slot] = std::move(f);
          ++have;
        }
      }
    }
    const double add_s = ms_since(add_start) / 1000;
    registry::Registry reg(db);
    const auto index_start = Clock::now();
    reg.index();
    const double index_s = ms_since(index_start) / 1000;
    std::vector<double> ms, derived_ms, independent_ms, search_ms, tests_ms, lineage_ms;
    int parents_right = 0, parents = 0, none_right = 0, none = 0;
    for (int q = 0; q < o.queries; ++q) {
      const bool derived = q % 2 == 0;
      const std::size_t k = rng() % kept.size();
      const auto query = derived ? child_of(kept[k], rng, "/synthetic/query.safetensors")
                                 : independent_from(real[rng() % real.size()], rng, "/synthetic/query.safetensors");
      const auto start = Clock::now();
      const auto found = reg.find(query, {});
      ms.push_back(ms_since(start));
      (derived ? derived_ms : independent_ms).push_back(ms.back());
      const double search = found.timings.value("search_ms", 0.0), tests = found.timings.value("tests_ms", 0.0);
      search_ms.push_back(search);
      tests_ms.push_back(tests);
      lineage_ms.push_back(found.timings.value("find_ms", 0.0) - search - tests);
      if (derived) {
        ++parents;
        parents_right += found.parent && found.parent->model.path == kept[k].path;
      } else {
        ++none;
        none_right += !found.parent;
      }
    }
    const double bytes_per_model =
        static_cast<double>(file_bytes(db) + file_bytes(db + "-wal") + file_bytes(db + ".index")) / static_cast<double>(have);
    const double rss_mb = static_cast<double>(resident_kb()) / 1024.0;
    if (!o.json)
      std::printf("| %lld | %.1f | %.1f | %.2f | %.2f | %.2f / %.2f | %.2f / %.2f / %.2f | %d/%d | %d/%d | %.0f | %.0f |\n",
                  static_cast<long long>(have), add_s, index_s, percentile(ms, 0.5), percentile(ms, 0.9),
                  percentile(derived_ms, 0.5), percentile(independent_ms, 0.5),
                  percentile(search_ms, 0.5), percentile(tests_ms, 0.5), percentile(lineage_ms, 0.5), parents_right, parents,
                  none_right, none, bytes_per_model, rss_mb);
    std::fflush(stdout);
    rows.push_back({{"models", have}, {"add_seconds", add_s}, {"index_build_seconds", index_s},
                    {"find_median_ms", percentile(ms, 0.5)}, {"find_p90_ms", percentile(ms, 0.9)},
                    {"find_median_derived_ms", percentile(derived_ms, 0.5)},
                    {"find_median_independent_ms", percentile(independent_ms, 0.5)},
                    {"parents_right", parents_right}, {"parents", parents}, {"no_parent_right", none_right}, {"no_parent", none},
                    {"disk_bytes_per_model", bytes_per_model}, {"rss_mb", rss_mb}});
  }
  write_json_file(o.out + "/scale.json", rows);
  if (o.json) print_json(rows);
}

}  // namespace

void add_registry_bench_command(CLI::App& registry) {
  auto o = std::make_shared<BenchRegistryOptions>();
  auto* cmd = registry.add_subcommand("bench", "Time `find` on synthetic registries grown from a registry of real fingerprints");
  cmd->add_option("--seed-db", o->seed_db, "A registry of real fingerprints to grow from")->required();
  cmd->add_option("--out", o->out, "Folder for the synthetic registry and scale.json")->required();
  cmd->add_option("--sizes", o->sizes, "Registry sizes, increasing (default 1000,10000,100000)")->delimiter(',');
  cmd->add_option("--queries", o->queries, "Timed queries per size, half with a registered parent (default 200)");
  cmd->add_option("--seed", o->seed, "Random seed");
  add_json_flag(cmd, o->json, "Print scale.json's rows to stdout instead of the Markdown table");
  cmd->callback([o] { run_bench(*o); });
}

}  // namespace modeldna::cli
