#include "modeldna/registry/scale_bench.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "modeldna/core/error.h"
#include "modeldna/core/json_file.h"
#include "modeldna/core/stopwatch.h"
#include "modeldna/registry/registry.h"

namespace modeldna::registry {
namespace {


// A fifth of the registered synthetic models are fine-tunes of earlier ones.
constexpr double kDerivedShare = 0.2;
// A fine-tune's change: Gaussian noise of this share of each tensor's spread.
constexpr float kFineTuneNoise = 0.3f;
// A uniform sample of the registered synthetic models (reservoir): the
// parents of later children and of the queries. All 100,000 sketches would
// not fit in memory.
constexpr std::size_t kParentPool = 2000;
// Models added per transaction.
constexpr int64_t kAddBatch = 500;

std::string random_hex(std::mt19937_64& rng, int digits) {
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < digits; ++i) s += hex[rng() % 16];
  return s;
}

void fresh_identity(Fingerprint& f, std::mt19937_64& rng, const std::string& path) {
  f.path = path;
  f.content_hash = random_hex(rng, 64);
  f.tensors_hash = random_hex(rng, 16);
  for (auto& h : f.tensor_hashes) h = rng();
  f.outputs.reset();
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

std::vector<Fingerprint> real_fingerprints(const std::string& location) {
  std::vector<Fingerprint> real;
  Registry seed(location);
  for (auto& [record, fp] : seed.fingerprints()) real.push_back(std::move(fp));
  if (real.empty()) throw Error(location + ": the seed registry is empty");
  return real;
}

}  // namespace

Fingerprint independent_from(const Fingerprint& real, std::mt19937_64& rng, const std::string& path) {
  auto f = real;
  for (auto& t : f.sketch.tensors) t.edit_values([&](std::vector<float>& v) { std::shuffle(v.begin(), v.end(), rng); });
  fresh_identity(f, rng, path);
  return f;
}

Fingerprint child_of(const Fingerprint& parent, std::mt19937_64& rng, const std::string& path) {
  auto f = parent;
  for (auto& t : f.sketch.tensors)
    t.edit_values([&](std::vector<float>& values) {
      double ss = 0;
      for (float v : values) ss += static_cast<double>(v) * v;
      const double spread = std::sqrt(ss / static_cast<double>(std::max<std::size_t>(1, values.size())));
      std::normal_distribution<float> noise(0.0f, kFineTuneNoise * static_cast<float>(spread));
      for (float& v : values) v += noise(rng);
    });
  fresh_identity(f, rng, path);
  return f;
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5)];
}

nlohmann::json to_json(const ScaleRow& r) {
  return {{"models", r.models},
          {"add_seconds", r.add_seconds},
          {"index_build_seconds", r.index_build_seconds},
          {"find_median_ms", r.find_median_ms},
          {"find_p90_ms", r.find_p90_ms},
          {"find_median_derived_ms", r.find_median_derived_ms},
          {"find_median_independent_ms", r.find_median_independent_ms},
          {"median_search_ms", r.median_search_ms},
          {"median_tests_ms", r.median_tests_ms},
          {"median_rest_ms", r.median_rest_ms},
          {"parents_right", r.parents_right},
          {"parents", r.parents},
          {"no_parent_right", r.no_parent_right},
          {"no_parent", r.no_parent},
          {"disk_bytes_per_model", r.disk_bytes_per_model},
          {"rss_mb", r.rss_mb}};
}

std::vector<ScaleRow> run_scale_bench(const ScaleBenchOptions& o, const std::function<void(const ScaleRow&)>& on_row) {
  MDNA_CHECK(o.queries >= 2, "the scale benchmark needs at least 2 queries per size");
  MDNA_CHECK(!o.sizes.empty() && std::is_sorted(o.sizes.begin(), o.sizes.end()), "the scale benchmark's sizes must be increasing");
  const auto real = real_fingerprints(o.seed_registry);
  make_directories(o.out_dir);
  const std::string db = o.out_dir + "/scale.sqlite";
  for (const auto& suffix : {"", "-wal", "-shm", ".index"}) std::filesystem::remove(db + suffix);
  std::mt19937_64 rng(o.seed);
  std::vector<Fingerprint> kept;
  std::vector<ScaleRow> rows;
  int64_t have = 0;
  for (int64_t size : o.sizes) {
    ScaleRow row;
    const auto add_start = Clock::now();
    {
      auto database = open_database(db);
      while (have < size) {
        std::vector<Fingerprint> batch;
        for (int64_t i = have; i < std::min(size, have + kAddBatch); ++i) {
          const std::string path = "/synthetic/model-" + std::to_string(i) + ".safetensors";
          const bool derived = i > 0 && std::uniform_real_distribution<double>(0, 1)(rng) < kDerivedShare;
          const auto* parent = kept.empty() ? nullptr : &kept[rng() % kept.size()];
          batch.push_back(derived && parent ? child_of(*parent, rng, path) : independent_from(real[rng() % real.size()], rng, path));
        }
        std::vector<const Fingerprint*> ptrs;
        std::vector<std::string> encoded;
        std::vector<std::vector<float>> anchors;
        for (const auto& f : batch) {
          ptrs.push_back(&f);
          encoded.push_back(encode(f));
          std::vector<float> flat;
          for (const auto& a : anchor_vectors(f.sketch)) flat.insert(flat.end(), a.begin(), a.end());
          anchors.push_back(std::move(flat));
        }
        database->add_many(ptrs, encoded, anchors);
        for (auto& f : batch) {
          f.tensor_hashes.clear();  // only the sketch values are needed later
          for (auto& t : f.sketch.tensors) t.drop_unit_rows();
          const auto slot = static_cast<std::size_t>(rng() % static_cast<uint64_t>(have + 1));
          if (kept.size() < kParentPool) kept.push_back(std::move(f));
          else if (slot < kParentPool) kept[slot] = std::move(f);
          ++have;
        }
      }
    }
    row.models = have;
    row.add_seconds = ms_since(add_start) / 1000;
    Registry reg(db);
    const auto index_start = Clock::now();
    reg.index();
    row.index_build_seconds = ms_since(index_start) / 1000;
    std::vector<double> ms, derived_ms, independent_ms, search_ms, tests_ms, lineage_ms;
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
        ++row.parents;
        row.parents_right += found.parent && found.parent->model.path == kept[k].path;
      } else {
        ++row.no_parent;
        row.no_parent_right += !found.parent;
      }
    }
    row.find_median_ms = percentile(ms, 0.5);
    row.find_p90_ms = percentile(ms, 0.9);
    row.find_median_derived_ms = percentile(derived_ms, 0.5);
    row.find_median_independent_ms = percentile(independent_ms, 0.5);
    row.median_search_ms = percentile(search_ms, 0.5);
    row.median_tests_ms = percentile(tests_ms, 0.5);
    row.median_rest_ms = percentile(lineage_ms, 0.5);
    row.disk_bytes_per_model =
        static_cast<double>(file_bytes(db) + file_bytes(db + "-wal") + file_bytes(db + ".index")) / static_cast<double>(have);
    row.rss_mb = static_cast<double>(resident_kb()) / 1024.0;
    on_row(row);
    rows.push_back(row);
  }
  return rows;
}

}  // namespace modeldna::registry
