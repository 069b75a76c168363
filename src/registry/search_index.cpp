#include "modeldna/registry/search_index.h"

#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>
#include <omp.h>
#include <xxhash.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "modeldna/core/error.h"
#include "modeldna/core/json_file.h"
#include "modeldna/core/sha256.h"

namespace modeldna::registry {
namespace {

// faiss's OpenMP on one thread for as long as this lives (the setting is the
// calling thread's own).
struct OneOpenMpThread {
  const int threads = omp_get_max_threads();
  OneOpenMpThread() { omp_set_num_threads(1); }
  ~OneOpenMpThread() { omp_set_num_threads(threads); }
};

// Each model has up to this many anchors; its vectors are labelled
// id * kLabelsPerModel + anchor.
constexpr int64_t kLabelsPerModel = 4;
constexpr int kHnswNeighbours = 32;
constexpr int kHnswConstructionDepth = 40;
constexpr int kHnswSearchDepth = 64;
constexpr char kCacheMagic[8] = {'M', 'D', 'N', 'A', '-', 'I', 'X', '1'};
// The cache is ours but lives on disk: a checksum guards against a torn or
// edited file (it is rebuilt, never trusted blindly).
constexpr std::size_t kCacheHeader = sizeof kCacheMagic + 8 + 8;  // magic, checksum, id count

}  // namespace

struct SearchIndex::Faiss {
  std::unique_ptr<faiss::IndexHNSWFlat> hnsw;
  std::unique_ptr<faiss::IndexIDMap2> index;

  Faiss() { reset(); }
  void reset() {
    index.reset();
    hnsw = std::make_unique<faiss::IndexHNSWFlat>(kAnchorDims, kHnswNeighbours, faiss::METRIC_INNER_PRODUCT);
    hnsw->hnsw.efConstruction = kHnswConstructionDepth;
    hnsw->hnsw.efSearch = kHnswSearchDepth;
    index = std::make_unique<faiss::IndexIDMap2>(hnsw.get());
  }
};

SearchIndex::SearchIndex(Database& db, std::string cache_path) : cache_path_(std::move(cache_path)), faiss_(std::make_unique<Faiss>()) {
  const auto ids = db.ids();
  live_.insert(ids.begin(), ids.end());
  if (!load()) {
    build(db);
    how_opened_ = "built";
    save();
    return;
  }
  std::vector<int64_t> missing;
  int64_t stale = 0;
  for (int64_t id : ids)
    if (!indexed_.count(id)) missing.push_back(id);
  for (int64_t id : indexed_) stale += !live_.count(id);
  if (stale * 4 > static_cast<int64_t>(indexed_.size())) {
    build(db);
    how_opened_ = "rebuilt (a quarter of it was removed models)";
    save();
    return;
  }
  how_opened_ = "loaded";
  if (!missing.empty()) {
    insert(db.anchors(missing));
    how_opened_ = "loaded and updated";
    save();
  }
}

SearchIndex::~SearchIndex() = default;

int64_t SearchIndex::vectors() const { return faiss_->index->ntotal; }

void SearchIndex::build(Database& db) {
  faiss_->reset();
  indexed_.clear();
  insert(db.anchors({}));
}

void SearchIndex::insert(const std::vector<std::pair<int64_t, std::vector<float>>>& rows) {
  std::vector<float> vectors;
  std::vector<faiss::Index::idx_t> labels;
  for (const auto& [id, anchors] : rows) {
    if (indexed_.count(id)) continue;
    const int64_t n = static_cast<int64_t>(anchors.size()) / kAnchorDims;
    for (int64_t k = 0; k < std::min(n, kLabelsPerModel); ++k) {
      vectors.insert(vectors.end(), anchors.begin() + k * kAnchorDims, anchors.begin() + (k + 1) * kAnchorDims);
      labels.push_back(id * kLabelsPerModel + k);
    }
    indexed_.insert(id);
  }
  if (labels.empty()) return;
  // On one thread: faiss links HNSW nodes in parallel in whatever order the
  // threads reach them, so two builds of one registry gave different graphs,
  // different neighbours and different `find` answers (BENCHMARKS.md).
  const OneOpenMpThread one_thread;
  faiss_->index->add_with_ids(static_cast<faiss::Index::idx_t>(labels.size()), vectors.data(), labels.data());
}

void SearchIndex::add(int64_t id, const std::vector<float>& anchors) {
  live_.insert(id);
  if (indexed_.count(id)) return;
  insert({{id, anchors}});
  save();
}

std::vector<SearchIndex::Hit> SearchIndex::search(const std::vector<std::vector<float>>& queries, int k) const {
  std::vector<Hit> out;
  if (queries.empty() || faiss_->index->ntotal == 0 || k <= 0) return out;
  std::vector<float> q;
  for (const auto& v : queries) {
    MDNA_ASSERT(static_cast<int>(v.size()) == kAnchorDims, "anchor vector of the wrong size");
    q.insert(q.end(), v.begin(), v.end());
  }
  const faiss::Index::idx_t nq = static_cast<faiss::Index::idx_t>(queries.size());
  // A query's anchor meets a relative mostly in that relative's anchor of the
  // same layer, so twice k vectors per anchor fill k models (k x
  // kLabelsPerModel searched twice as deep for the same answers: measured in
  // BENCHMARKS.md, "100,000 fingerprints").
  const faiss::Index::idx_t per_query = std::min<faiss::Index::idx_t>(faiss_->index->ntotal, static_cast<faiss::Index::idx_t>(k) * 2);
  faiss_->hnsw->hnsw.efSearch = std::max<int>(kHnswSearchDepth, static_cast<int>(per_query));
  std::vector<float> scores(static_cast<std::size_t>(nq * per_query));
  std::vector<faiss::Index::idx_t> labels(static_cast<std::size_t>(nq * per_query));
  // One thread: a query's few anchors are too few to share out, and
  // OpenMP's waiting threads spin on cores that other work needs.
  {
    const OneOpenMpThread one_thread;
    faiss_->index->search(nq, q.data(), per_query, scores.data(), labels.data());
  }
  // A model's score: the sum over the query's anchors of its best match to
  // each, so a model close on every anchor (a parent) ranks above one that
  // shares a single layer (a model holding one transplanted layer).
  std::map<int64_t, std::vector<float>> best;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0) continue;
    const int64_t id = labels[i] / kLabelsPerModel;
    if (!live_.count(id)) continue;
    auto& per_anchor = best[id];
    per_anchor.resize(queries.size(), 0.0f);
    const std::size_t anchor = i / static_cast<std::size_t>(per_query);
    per_anchor[anchor] = std::max(per_anchor[anchor], std::max(scores[i], 0.0f));
  }
  for (const auto& [id, per_anchor] : best) {
    float sum = 0;
    for (float v : per_anchor) sum += v;
    out.push_back({id, sum});
  }
  std::sort(out.begin(), out.end(), [](const Hit& a, const Hit& b) { return a.score != b.score ? a.score > b.score : a.id < b.id; });
  if (static_cast<int>(out.size()) > k) out.resize(static_cast<std::size_t>(k));
  return out;
}

void SearchIndex::save() const {
  if (cache_path_.empty()) return;
  faiss::VectorIOWriter writer;
  faiss::write_index(faiss_->index.get(), &writer);
  std::vector<int64_t> ids(indexed_.begin(), indexed_.end());
  std::sort(ids.begin(), ids.end());
  std::string body;
  const uint64_t n = ids.size();
  body.append(reinterpret_cast<const char*>(&n), 8);
  body.append(reinterpret_cast<const char*>(ids.data()), ids.size() * 8);
  body.append(reinterpret_cast<const char*>(writer.data.data()), writer.data.size());
  const uint64_t checksum = XXH3_64bits(body.data(), body.size());
  std::string file(kCacheMagic, sizeof kCacheMagic);
  file.append(reinterpret_cast<const char*>(&checksum), 8);
  file += body;
  try {
    write_file_atomically(cache_path_, file);
  } catch (const Error&) {
    // A cache that cannot be written costs a rebuild next time, nothing else.
  }
}

bool SearchIndex::load() {
  if (cache_path_.empty() || !std::filesystem::exists(cache_path_)) return false;
  std::string file;
  try {
    file = read_file(cache_path_);
  } catch (const Error&) {
    return false;
  }
  if (file.size() < kCacheHeader || std::memcmp(file.data(), kCacheMagic, sizeof kCacheMagic) != 0) return false;
  uint64_t checksum = 0, n = 0;
  std::memcpy(&checksum, file.data() + 8, 8);
  if (XXH3_64bits(file.data() + 16, file.size() - 16) != checksum) return false;
  std::memcpy(&n, file.data() + 16, 8);
  if (n > (file.size() - kCacheHeader) / 8) return false;
  std::vector<int64_t> ids(n);
  std::memcpy(ids.data(), file.data() + kCacheHeader, n * 8);
  faiss::VectorIOReader reader;
  reader.data.assign(file.begin() + static_cast<std::ptrdiff_t>(kCacheHeader + n * 8), file.end());
  std::unique_ptr<faiss::Index> loaded;
  try {
    loaded.reset(faiss::read_index(&reader));
  } catch (const faiss::FaissException&) {
    return false;
  }
  auto* map = dynamic_cast<faiss::IndexIDMap2*>(loaded.get());
  auto* hnsw = map ? dynamic_cast<faiss::IndexHNSWFlat*>(map->index) : nullptr;
  if (!hnsw || hnsw->d != kAnchorDims) return false;
  loaded.release();
  map->own_fields = false;
  faiss_->index.reset(map);
  faiss_->hnsw.reset(hnsw);
  indexed_ = std::unordered_set<int64_t>(ids.begin(), ids.end());
  return true;
}

std::string index_cache_path(const Database& db, const std::string& location) {
  (void)db;
  if (location.rfind("postgres", 0) != 0) return location + ".index";
  std::filesystem::path base;
  if (const char* dir = std::getenv("MODELDNA_CACHE_DIR"); dir && *dir) base = dir;
  else if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) base = std::filesystem::path(xdg) / "modeldna";
  else if (const char* home = std::getenv("HOME"); home && *home) base = std::filesystem::path(home) / ".cache" / "modeldna";
  else return "";  // no cache: built on every open
  std::error_code ignored;
  std::filesystem::create_directories(base, ignored);
  return (base / (sha256_hex(location.data(), location.size()).substr(0, 16) + ".index")).string();
}

}  // namespace modeldna::registry
