#include "modeldna/registry/registry.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <filesystem>
#include <map>

#include "modeldna/core/error.h"
#include "modeldna/core/stopwatch.h"
#include "modeldna/lineage/direction.h"
#include "modeldna/lineage/tree.h"

namespace modeldna::registry {
namespace {


// A vote this strong decides the direction; weaker ones leave it open.
constexpr double kDecisiveVote = 0.25;
// How many of the query's significant relatives place_in_lineage builds a
// tree over, and how many models it adds that only they are related to
// (donors of their other layers): bounds on the tree's size, so that a find
// costs a few milliseconds; not tuned.
constexpr std::size_t kLocalModels = 40, kMaxDonors = 12;
// Between the query and one registered relative, the registered model is
// taken as the older unless quantization or pruning says otherwise (they
// forbid the reverse edge outright): the kurtosis vote alone (it moves the
// two orientations apart by at most 2 x 0.5 x direction_weight 0.1 = 0.1)
// is too weak to make a newcomer the parent. With more relatives the
// family's shape decides (measured: a bias there made two AlexNet sources
// of the paper zoo children of their fine-tunes).
constexpr double kNewcomerRootBias = -0.12;
// Candidates whose -ln(1 - closeness) differ by less than this are ranked
// by their direction vote (a sibling is about ln 2 further than a parent).
constexpr double kCloseTie = 0.1;

bool all_digits(const std::string& s) { return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }); }

std::vector<float> flat(const std::vector<std::vector<float>>& vectors) {
  std::vector<float> out;
  for (const auto& v : vectors) out.insert(out.end(), v.begin(), v.end());
  return out;
}

}  // namespace

void apply_holm(std::vector<Candidate>& candidates, int64_t registry_models, double alpha) {
  // Copies first: their hypotheses are rejected outright (as at p = 0), and
  // Holm goes on over the rest with the same n - j multipliers.
  std::stable_sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    return a.copied != b.copied ? a.copied : a.log10_p < b.log10_p;
  });
  const double n = static_cast<double>(std::max<int64_t>(registry_models, 1));
  double running = -INFINITY;
  for (std::size_t j = 0; j < candidates.size(); ++j) {
    // The j-th smallest p of n hypotheses is multiplied by n - j; adjusted
    // p-values never decrease down the list.
    const double adjusted = std::min(0.0, candidates[j].log10_p + std::log10(std::max(1.0, n - static_cast<double>(j))));
    running = std::max(running, adjusted);
    candidates[j].log10_p_adjusted = running;
    candidates[j].significant = candidates[j].copied || running < std::log10(alpha);
  }
}

std::string_view direction_name(Direction d) {
  switch (d) {
    case Direction::CandidateIsParent: return "parent";
    case Direction::CandidateIsChild: return "child";
    case Direction::Undetermined: return "undetermined";
  }
  throw InternalError("invalid Direction value");
}

std::string_view found_by_name(FoundBy f) {
  switch (f) {
    case FoundBy::TensorHashes: return "tensor hashes";
    case FoundBy::Index: return "index";
    case FoundBy::ShapeBucket: return "shape bucket";
    case FoundBy::ProbeOutputs: return "outputs on standard probes";
  }
  throw InternalError("invalid FoundBy value");
}

Registry::Registry(const std::string& location) : location_(location), db_(open_database(location)) {}

Registry::~Registry() = default;

SearchIndex& Registry::index() {
  if (!index_) index_ = std::make_unique<SearchIndex>(*db_, index_cache_path(*db_, location_));
  return *index_;
}

AddResult Registry::add(const Fingerprint& f, const std::string& name) {
  const auto anchors = flat(anchor_vectors(f.sketch));
  const auto r = db_->add(f, encode(f), anchors);
  if (r.added && index_) index_->add(r.id, anchors);
  if (!name.empty()) db_->set_name(r.id, name);
  return r;
}

std::vector<ModelRecord> Registry::named(const std::string& name) {
  std::vector<ModelRecord> out;
  for (const int64_t id : db_->ids_with_name(name))
    if (auto r = db_->record(id)) out.push_back(*r);
  return out;
}

std::vector<int64_t> Registry::resolve(const std::string& key) {
  if (all_digits(key)) return {std::stoll(key)};
  if (key.size() == 64 && key.find_first_not_of("0123456789abcdef") == std::string::npos)
    if (auto r = db_->by_content_hash(key)) return {r->id};
  return db_->ids_with_path(std::filesystem::absolute(key).lexically_normal().string());
}

int64_t Registry::remove(const std::string& key) {
  int64_t removed = 0;
  for (int64_t id : resolve(key))
    if (db_->remove(id)) {
      ++removed;
      if (index_) index_->remove(id);
    }
  return removed;
}

std::optional<Fingerprint> Registry::show(const std::string& key) {
  const auto found = db_->stored(resolve(key));
  if (found.empty()) return std::nullopt;
  return decode(found.front().fingerprint, db_->location() + " model " + std::to_string(found.front().record.id));
}

std::vector<std::pair<ModelRecord, Fingerprint>> Registry::fingerprints(const std::vector<int64_t>& ids) {
  std::vector<std::pair<ModelRecord, Fingerprint>> out;
  for (auto& m : db_->stored(ids.empty() ? db_->ids() : ids)) {  // a model removed meanwhile is left out
    const auto where = db_->location() + " model " + std::to_string(m.record.id);
    out.emplace_back(std::move(m.record), decode(m.fingerprint, where));
  }
  return out;
}

// The query's place among its closest relatives: a lineage tree (tree.h)
// over the query, its significant candidates (the closest 40) and
// the other donors of any candidate assembled from the query and another
// model, which the index finds from that candidate's other layers. The
// query's parent in that tree is its parent; ancestors and descendants give
// the other candidates their direction.
// What find tests, and how each came up: the candidates by id, and the
// query's shape bucket when it was small enough to test outright.
struct Registry::Proposals {
  std::map<int64_t, Candidate> found;
  std::vector<int64_t> bucket;
  bool bucket_scanned = false;
};

// The candidates tested so far, with the fingerprints and comparisons their
// tests read (place_in_lineage builds on them).
struct Registry::Tested {
  std::vector<Candidate> candidates;
  std::map<int64_t, Fingerprint> prints;
  std::map<int64_t, compare::SketchComparison> comparisons;
  std::vector<std::string> notes;  // candidates not tested, and why
};

// The query's place in the lineage of its closest relatives (and the donors
// of their other layers): the tree over them names its parent and settles
// each candidate's direction.
void Registry::place_in_lineage(const Fingerprint& query, const FindOptions& o, Tested& t, FindResult& result) {
  auto& tested = t.candidates;
  const auto& prints = t.prints;
  const auto& comparisons = t.comparisons;
  std::vector<const Candidate*> local;
  for (const auto& c : tested)
    if (c.significant && local.size() < kLocalModels) local.push_back(&c);
  if (local.empty()) return;
  std::vector<const compare::ModelSketch*> sketches = {&query.sketch};
  std::vector<int64_t> ids = {-1};
  for (const auto* c : local) {
    sketches.push_back(&prints.at(c->model.id).sketch);
    ids.push_back(c->model.id);
  }
  std::vector<Fingerprint> donors;
  for (const auto* c : local) {
    const auto& fp = prints.at(c->model.id);
    const auto& cmp = comparisons.at(c->model.id);
    std::vector<bool> shared(fp.sketch.tensors.size(), false);
    for (const auto& p : cmp.pairs) shared[p.source] = shared[p.source] || p.verdict != compare::LayerVerdict::New;
    std::vector<std::vector<float>> anchors;
    for (std::size_t k = 0; k < shared.size() && anchors.size() < 3; ++k)
      if (!shared[k]) anchors.push_back(anchor_vector(fp.sketch.tensors[k]));
    if (anchors.empty()) continue;
    for (const auto& hit : index().search(anchors, 4)) {
      if (donors.size() >= kMaxDonors) break;
      if (std::find(ids.begin(), ids.end(), hit.id) != ids.end() || (result.same_file && hit.id == result.same_file->id)) continue;
      auto stored = db_->stored({hit.id});
      if (stored.empty()) continue;
      auto donor = decode(stored.front().fingerprint, db_->location() + " model " + std::to_string(hit.id));
      if (donor.sketch.seed != query.sketch.seed || !compare::compare_sketches(donor.sketch, fp.sketch, o.alpha).derived) continue;
      ids.push_back(hit.id);
      donors.push_back(std::move(donor));
    }
  }
  for (const auto& d : donors) sketches.push_back(&d.sketch);
  lineage::TreeOptions tree_options;
  tree_options.alpha = o.alpha;
  tree_options.root_bias.assign(sketches.size(), 0.0);
  if (sketches.size() == 2) tree_options.root_bias[0] = kNewcomerRootBias;
  const auto tree = lineage::build_tree(sketches, tree_options);
  std::vector<std::size_t> parent(sketches.size(), SIZE_MAX);
  std::vector<const lineage::TreeEdge*> into(sketches.size(), nullptr);
  for (const auto& e : tree.edges) parent[e.child] = e.parent, into[e.child] = &e;
  auto ancestor_of = [&](std::size_t a, std::size_t v) {
    for (std::size_t x = parent[v], steps = 0; x != SIZE_MAX && steps < sketches.size(); x = parent[x], ++steps)
      if (x == a) return true;
    return false;
  };
  for (auto& c : tested) {
    const auto at = std::find(ids.begin(), ids.end(), c.model.id);
    if (!c.significant || at == ids.end()) continue;
    const std::size_t k = static_cast<std::size_t>(at - ids.begin());
    if (ancestor_of(k, 0)) c.direction = Direction::CandidateIsParent, c.direction_reason = "an ancestor in the lineage of the query's closest relatives";
    else if (ancestor_of(0, k)) c.direction = Direction::CandidateIsChild, c.direction_reason = "a descendant in the lineage of the query's closest relatives";
    else c.direction = Direction::Undetermined, c.direction_reason = "on another branch of the query's family (a sibling or cousin)";
  }
  if (parent[0] == SIZE_MAX) {
    result.notes.push_back(std::string("related models found, but in the lineage of the closest ones this model is the root") +
                           (tree.assembled[0] ? "" : ": they are derived from it or share its origin"));
    return;
  }
  const int64_t parent_id = ids[parent[0]];
  for (const auto& c : tested)
    if (c.model.id == parent_id && c.significant) result.parent = c;
  if (!result.parent) {
    result.notes.push_back("the closest lineage places this model under a model found only through another candidate's layers");
    return;
  }
  result.parent->relation = into[0]->relation;
  for (std::size_t d : into[0]->also_from)
    if (ids[d] >= 0)
      if (auto r = db_->record(ids[d])) result.also_from.push_back(*r);
}

// The sketch test of each candidate against the query: database reads in
// order (one connection), then the tests side by side, each independent of
// the others. Appends to `tested` (a model sketched with another seed as a
// note).
void Registry::test_candidates(const Fingerprint& query, const FindOptions& o, const std::vector<int64_t>& ids,
                               Proposals& proposals, Tested& tested) {
  struct Work {
    int64_t id;
    Candidate candidate;
    ModelRecord record;
    std::string bytes;
    Fingerprint fp;
    compare::SketchComparison cmp;
    lineage::DirectionVote vote;
    bool other_seed = false;
  };
  std::vector<Work> work;
  for (auto& m : db_->stored(ids)) {
    const int64_t id = m.record.id;
    work.push_back({id, std::move(proposals.found.at(id)), std::move(m.record), std::move(m.fingerprint), {}, {}, {}, false});
  }
  std::vector<std::exception_ptr> failures(work.size());
#pragma omp parallel for schedule(dynamic)
  for (std::size_t k = 0; k < work.size(); ++k) {
    auto& w = work[k];
    try {
      w.fp = decode(w.bytes, db_->location() + " model " + std::to_string(w.id));
      w.other_seed = w.fp.sketch.seed != query.sketch.seed;
      if (w.other_seed) continue;
      w.cmp = compare::compare_sketches(w.fp.sketch, query.sketch, o.alpha);
      w.vote = lineage::direction(w.fp.sketch, query.sketch, w.cmp);
    } catch (...) {
      failures[k] = std::current_exception();
    }
  }
  for (const auto& f : failures)
    if (f) std::rethrow_exception(f);
  for (auto& w : work) {
    if (w.other_seed) {
      tested.notes.push_back("model " + std::to_string(w.id) + " was sketched with another seed: not tested");
      continue;
    }
    auto& c = w.candidate;
    const auto& cmp = w.cmp;
    c.model = std::move(w.record);
    c.log10_p = cmp.log10_p;
    c.copied = cmp.copied;
    c.closeness = cmp.closeness;
    c.relation = cmp.relation;
    c.layers_tested = cmp.tested;
    for (const auto& p : cmp.pairs) c.layers_derived += p.verdict != compare::LayerVerdict::New;
    if (!query.tensor_hashes.empty() && w.fp.tensors_hash == query.tensors_hash) {
      c.relation = compare::Relation::Identical;  // the same tensors, renamed or re-sharded
      c.copied = true;
    }
    c.direction = w.vote.score >= kDecisiveVote   ? Direction::CandidateIsParent
                  : w.vote.score <= -kDecisiveVote ? Direction::CandidateIsChild
                                                   : Direction::Undetermined;
    c.direction_reason = w.vote.reason;
    c.evidence["direction_vote"] = w.vote.score;
    tested.candidates.push_back(std::move(c));
    tested.comparisons.emplace(w.id, cmp);
    tested.prints.emplace(w.id, std::move(w.fp));
  }
}

// Step 1 of find: the models worth a test. The same tensors (renamed or
// re-sharded), the index's nearest neighbours, and the query's whole shape
// bucket when it is small; and the N of the correction in `result`.
Registry::Proposals Registry::propose(const Fingerprint& query, const FindOptions& o, FindResult& result) {
  Proposals p;
  auto& idx = index();
  result.same_file = db_->by_content_hash(query.content_hash);
  auto add = [&](int64_t id, FoundBy how, double score) {
    if (result.same_file && id == result.same_file->id) return;
    auto [it, fresh] = p.found.emplace(id, Candidate{});
    if (fresh) it->second.found_by = how;
    it->second.index_score = std::max(it->second.index_score, score);
  };
  if (!query.tensor_hashes.empty())
    for (int64_t id : db_->ids_with_tensors_hash(query.tensors_hash)) add(id, FoundBy::TensorHashes, 1.0);
  for (const auto& hit : idx.search(anchor_vectors(query.sketch), o.neighbours)) add(hit.id, FoundBy::Index, hit.score);
  int64_t bucket_size = 0;
  std::tie(p.bucket, bucket_size) = db_->ids_with_shape(query.shape_signature, o.bucket_scan);
  p.bucket_scanned = bucket_size <= o.bucket_scan;
  if (p.bucket_scanned)
    for (int64_t id : p.bucket) add(id, FoundBy::ShapeBucket, 0.0);
  // The N of the correction: the models the index knows, and any newer one
  // (added by another process since it was opened) that the database
  // queries proposed. Counting the table instead grew with the registry.
  result.registry_models = idx.models() - (result.same_file && idx.holds(result.same_file->id) ? 1 : 0);
  for (const auto& entry : p.found) result.registry_models += idx.holds(entry.first) ? 0 : 1;
  return p;
}

namespace {

// Two rounds of tests: the proposals other than the index's and its closer
// half first; its farther half only when the first round found a relative
// (the lineage needs the query's wider family; an unrelated query's farther
// neighbours would cost half the tests and find nothing).
std::pair<std::vector<int64_t>, std::vector<int64_t>> test_rounds(const std::map<int64_t, Candidate>& found,
                                                                  const std::vector<int64_t>& bucket, bool bucket_scanned) {
  std::vector<std::pair<int64_t, double>> by_index;
  std::vector<int64_t> first, second;
  for (const auto& [id, c] : found)
    if (c.found_by == FoundBy::Index && !(bucket_scanned && std::count(bucket.begin(), bucket.end(), id)))
      by_index.emplace_back(id, c.index_score);
    else first.push_back(id);
  std::stable_sort(by_index.begin(), by_index.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  for (std::size_t k = 0; k < by_index.size(); ++k) (k < (by_index.size() + 1) / 2 ? first : second).push_back(by_index[k].first);
  return {first, second};
}

// Closest to the index first, whatever the rounds: ties (copies) and in
// closeness are then broken the same way for the same candidates, in favour
// of what the index ranks closer.
void rank_by_index(std::vector<Candidate>& tested) {
  std::sort(tested.begin(), tested.end(), [](const Candidate& a, const Candidate& b) {
    return a.index_score != b.index_score ? a.index_score > b.index_score : a.model.id < b.model.id;
  });
}

// Best first: significant ones by closeness (near-ties by their direction
// vote), then the rest by p-value.
void rank_by_evidence(std::vector<Candidate>& tested) {
  std::stable_sort(tested.begin(), tested.end(), [](const Candidate& a, const Candidate& b) {
    if (a.significant != b.significant) return a.significant;
    if (a.significant && std::abs(lineage::edge_strength(a.closeness) - lineage::edge_strength(b.closeness)) > kCloseTie)
      return a.closeness > b.closeness;
    if (a.significant) return a.evidence["direction_vote"].get<double>() > b.evidence["direction_vote"].get<double>();
    return a.log10_p < b.log10_p;
  });
}

}  // namespace

FindResult Registry::find(const Fingerprint& raw_query, const FindOptions& o) {
  MDNA_CHECK(o.alpha > 0 && o.alpha < 1, "alpha must lie strictly between 0 and 1");
  MDNA_CHECK(o.top >= 1 && o.neighbours >= 1, "find's top and neighbours must be at least 1");
  const auto start = Clock::now();
  FindResult result;
  // The query as the registry would store it (float16 sketches), so an
  // identical file compares as identical.
  const Fingerprint query = decode(encode(raw_query), "the query's fingerprint");
  result.index = index().how_opened();
  result.timings["index_open_ms"] = ms_since(start);

  const auto search_start = Clock::now();
  auto proposals = propose(query, o, result);
  result.timings["search_ms"] = ms_since(search_start);

  const auto test_start = Clock::now();
  Tested tested;
  const auto [first, second] = test_rounds(proposals.found, proposals.bucket, proposals.bucket_scanned);
  const double first_round_level = std::log10(o.alpha / static_cast<double>(std::max<int64_t>(result.registry_models, 1)));
  test_candidates(query, o, first, proposals, tested);
  const bool relative_found = std::any_of(tested.candidates.begin(), tested.candidates.end(),
                                          [&](const Candidate& c) { return c.copied || c.log10_p < first_round_level; });
  if (relative_found) test_candidates(query, o, second, proposals, tested);
  else if (!second.empty())
    tested.notes.push_back("the index's " + std::to_string(second.size()) +
                           " farther proposals were not tested: none of the closer ones is related (they count with p = 1)");
  for (const auto& note : tested.notes) result.notes.push_back(note);
  rank_by_index(tested.candidates);
  result.tested = static_cast<int64_t>(tested.candidates.size());
  result.timings["tests_ms"] = ms_since(test_start);

  apply_holm(tested.candidates, result.registry_models, o.alpha);
  rank_by_evidence(tested.candidates);
  place_in_lineage(query, o, tested, result);
  auto& candidates = tested.candidates;
  std::stable_sort(candidates.begin(), candidates.end(), [&](const Candidate& a, const Candidate& b) {
    const bool pa = result.parent && a.model.id == result.parent->model.id, pb = result.parent && b.model.id == result.parent->model.id;
    return pa > pb;
  });
  if (candidates.empty())
    result.notes.push_back("no registered model shares a tested tensor shape with this one: white-box evidence does not apply");
  if (static_cast<int>(candidates.size()) > o.top) candidates.resize(static_cast<std::size_t>(o.top));
  result.candidates = std::move(candidates);
  result.timings["find_ms"] = ms_since(search_start);
  return result;
}

nlohmann::json to_json(const FindResult& r) {
  auto candidate = [](const Candidate& c) {
    return nlohmann::json{{"id", c.model.id},
                          {"path", c.model.path},
                          {"format", c.model.format},
                          {"p_value", std::pow(10.0, c.log10_p_adjusted)},
                          {"log10_p", c.log10_p_adjusted},
                          {"log10_p_uncorrected", c.log10_p},
                          {"copied", c.copied},
                          {"significant", c.significant},
                          {"relation", compare::relation_name(c.relation)},
                          {"closeness", c.closeness},
                          {"direction", direction_name(c.direction)},
                          {"direction_reason", c.direction_reason},
                          {"layers_tested", c.layers_tested},
                          {"layers_derived", c.layers_derived},
                          {"found_by", found_by_name(c.found_by)},
                          {"index_score", c.index_score},
                          {"evidence", c.evidence}};
  };
  nlohmann::json j;
  j["version"] = 1;
  j["parent"] = r.parent ? nlohmann::json(r.parent->model.path) : nlohmann::json(nullptr);
  j["parent_detail"] = r.parent ? candidate(*r.parent) : nlohmann::json(nullptr);
  j["candidates"] = nlohmann::json::array();
  for (const auto& c : r.candidates) j["candidates"].push_back(candidate(c));
  j["also_from"] = nlohmann::json::array();
  for (const auto& m : r.also_from) j["also_from"].push_back(m.path);
  j["same_file"] = r.same_file ? nlohmann::json{{"id", r.same_file->id}, {"path", r.same_file->path}} : nlohmann::json(nullptr);
  j["correction"] = "Holm over the " + std::to_string(r.registry_models) + " registered models (untested ones count with p = 1)";
  j["registry_models"] = r.registry_models;
  j["tested"] = r.tested;
  j["index"] = r.index;
  j["notes"] = r.notes;
  j["timings"] = r.timings;
  return j;
}

}  // namespace modeldna::registry
