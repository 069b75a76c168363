// The white-box comparison (docs/compare.md): candidate tensors of both
// stores, pairing without trusting names, the matched-unit test per pair,
// the optional search for relabelled units, and the combined p-value.
#include <algorithm>
#include <optional>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <numeric>

#include "block_alignment.h"
#include "fused_projections.h"
#include "modeldna/core/stopwatch.h"
#include "vocabulary_alignment.h"
#include "modeldna/io/vocabulary.h"
#include "constants.h"
#include "encoding_error.h"
#include "geometry_test.h"
#include "modeldna/io/ecosystem_names.h"
#include "pairing.h"
#include "modeldna/compare/assignment.h"
#include "modeldna/compare/compare.h"
#include "modeldna/compare/stats.h"
#include "modeldna/compare/unit_rows.h"
#include "modeldna/core/error.h"
#include "relation.h"

namespace modeldna::compare {
namespace {

using detail::Candidate;
using detail::Pair;
using detail::similarity;

std::string layout_text(const io::TensorInfo& t) { return std::string(io::layout_name(t.layout)); }

// Whether reading the tensor's units reorders its stored axes.
bool layout_rearranged(const io::TensorInfo& t) {
  const auto axes = io::canonical_axes(t.layout, t.shape.size());
  return !std::is_sorted(axes.begin(), axes.end());
}

// The transforms reading a pair's units undoes, before any test.
std::vector<Undone> undone_by_reading(const detail::Pair& p) {
  std::vector<Undone> undone;
  if (layout_rearranged(*p.source->info) || layout_rearranged(*p.target->info)) undone.push_back(Undone::Layout);
  auto rotary = [](const Candidate& c) { return !c.shape.stored_unit.empty() && !c.vocabulary_aligned && !c.fused_split; };
  if (rotary(*p.source) || rotary(*p.target)) undone.push_back(Undone::RotaryRows);
  if (p.source->fused_split || p.target->fused_split) undone.push_back(Undone::FusedProjection);
  if (p.source->vocabulary_aligned || p.target->vocabulary_aligned) undone.push_back(Undone::Vocabulary);
  return undone;
}

// A relabelling of the target's units found by optimal matching on half the
// inputs and scored on the other half (docs/compare.md: approximate, kept
// apart from the calibrated p-value).
struct PermutationEvidence {
  bool found = false;
  double held_out_similarity = 0;
  double log10_p = 0;
  std::vector<int64_t> target_of;  // source unit -> target unit
};

PermutationEvidence search_permutation(const io::TensorStore& source_store, const io::TensorStore& target_store,
                                       const Pair& pair, const CompareOptions& o, uint64_t seed,
                                       const std::vector<int64_t>* carried, int64_t carried_group) {
  PermutationEvidence e;
  const auto& shape = pair.source->shape;
  const int64_t units = shape.units;
  if (units > o.max_permutation_units || shape.inputs < 4) return e;
  std::vector<int64_t> all(static_cast<std::size_t>(units));
  std::iota(all.begin(), all.end(), 0);
  const auto inputs = sample_indices(shape.inputs, o.max_inputs, seed);
  std::vector<int64_t> half_a, half_b;
  for (std::size_t j = 0; j < inputs.size(); ++j) (j % 2 ? half_b : half_a).push_back(inputs[j]);
  auto target_inputs = [&](const std::vector<int64_t>& in) {
    if (!carried) return in;
    std::vector<int64_t> mapped;
    for (int64_t j : in) {
      const int64_t channel = j / carried_group, rest = j % carried_group;
      mapped.push_back((*carried)[static_cast<std::size_t>(channel)] * carried_group + rest);
    }
    return mapped;
  };
  const auto a1 = read_units(source_store, *pair.source->info, shape, all, half_a);
  const auto b1 = read_units(target_store, *pair.target->info, pair.target->shape, all, target_inputs(half_a));
  const auto c1 = similarity(a1, b1, all.size(), all.size(), half_a.size());
  std::vector<double> cost(c1.size());
  for (std::size_t i = 0; i < c1.size(); ++i) cost[i] = -c1[i];
  const auto match = min_cost_assignment(cost, units, units);
  const auto a2 = read_units(source_store, *pair.source->info, shape, all, half_b);
  std::vector<int64_t> matched_units(match.begin(), match.end());
  const auto b2 = read_units(target_store, *pair.target->info, pair.target->shape, matched_units, target_inputs(half_b));
  const auto c2 = similarity(a2, b2, all.size(), all.size(), half_b.size());
  const auto test = alignment_test(c2, units, seed + 7);
  e.held_out_similarity = test.statistic;
  e.log10_p = test.log10_p;
  e.target_of = match;
  // Independently trained networks learn similar units too (convergent
  // learning), so a relabelling counts only when the held-out correlation is
  // near what a derived copy keeps.
  constexpr double kPermutedSimilarity = 0.9;
  e.found = test.statistic >= kPermutedSimilarity;
  return e;
}

// "5-10" for consecutive numbers, "3, 7" otherwise.
std::string ranges(const std::vector<int64_t>& v) {
  std::string out;
  for (std::size_t k = 0; k < v.size();) {
    std::size_t end = k;
    while (end + 1 < v.size() && v[end + 1] == v[end] + 1) ++end;
    out += (out.empty() ? "" : ", ") + std::to_string(v[k]) + (end > k ? "-" + std::to_string(v[end]) : "");
    k = end + 1;
  }
  return out;
}

// Source blocks the target lacks while most of its blocks align: depth pruning.
bool dropped_blocks(const detail::BlockAlignment& b) {
  return !b.unmatched_source.empty() && b.unmatched_target.empty() && b.source_of_target.size() >= b.unmatched_source.size();
}

// Relations whose every matched layer kept (or re-encoded, or tuned) the
// source's weights: with blocks dropped, the story is depth pruning.
bool keeps_the_weights(Relation r) {
  return r == Relation::Identical || r == Relation::Converted || r == Relation::Quantized || r == Relation::FineTuned;
}

// What the block alignment changed, when it changed the story: renumbered
// blocks, or source blocks the target dropped while most of them align.
std::optional<std::string> block_note(const detail::BlockAlignment& b) {
  const std::size_t aligned = b.source_of_target.size();
  if (!b.renumbered && !dropped_blocks(b)) return std::nullopt;
  std::vector<int64_t> moved_from, moved_to;
  for (const auto& [t, s] : b.source_of_target)
    if (t != s) {
      moved_to.push_back(t);
      moved_from.push_back(s);
    }
  std::string note = "blocks aligned by their inputs' Gram matrices (" + std::to_string(aligned) + " of the target's '" + b.stack +
                     "' blocks come from the source's)";
  if (!moved_to.empty()) note += "; target blocks " + ranges(moved_to) + " come from source blocks " + ranges(moved_from);
  if (!b.unmatched_source.empty()) note += "; source blocks " + ranges(b.unmatched_source) + " have no counterpart in the target";
  if (!b.unmatched_target.empty()) note += "; target blocks " + ranges(b.unmatched_target) + " come from no source block";
  return note;
}

// Up to this many added or removed tokens are named in the note.
constexpr std::size_t kTokensNamed = 8;

std::string some_tokens(const std::vector<std::string>& tokens) {
  std::string out;
  for (std::size_t k = 0; k < tokens.size() && k < kTokensNamed; ++k) out += (k ? ", " : "") + tokens[k];
  return tokens.size() > kTokensNamed ? out + ", ..." : out;
}

// The two vocabularies aligned, with a note saying what differs; nullopt
// (and a note when a tokenizer could not be read) when there is nothing to align.
std::optional<detail::VocabularyAlignment> aligned_vocabularies(const io::TensorStore& source, const io::TensorStore& target,
                                                                nlohmann::json& notes) {
  std::optional<std::vector<std::string>> s, t;
  try {
    s = io::vocabulary(source);
    t = io::vocabulary(target);
  } catch (const FormatError& e) {
    notes.push_back(std::string("vocabulary not aligned: ") + e.what());
    return std::nullopt;
  }
  if (!s || !t) return std::nullopt;
  auto a = detail::align_vocabularies(*s, *t);
  if (!a) return std::nullopt;
  std::string note = "vocabulary: token rows aligned by token string; " + std::to_string(a->source_rows.size()) +
                     " tokens shared, " + std::to_string(a->added.size()) + " only in the target";
  if (!a->added.empty()) note += " (" + some_tokens(a->added) + ")";
  note += ", " + std::to_string(a->removed.size()) + " only in the source";
  if (!a->removed.empty()) note += " (" + some_tokens(a->removed) + ")";
  notes.push_back(note);
  return a;
}

bool same_bytes(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  if (a.size() != 1 || b.size() != 1) return false;
  const auto x = io::map_file(a[0]), y = io::map_file(b[0]);
  return x->size() == y->size() && (x->size() == 0 || std::memcmp(x->data(), y->data(), x->size()) == 0);
}

// Each tensor of a store under its ecosystem name (name_map.h), mapped on
// first use: only a geometry test looks a name up (a gain to fold), and
// most compares run none.
class EcosystemNames {
 public:
  explicit EcosystemNames(const io::TensorStore& store) : store_(store) {}
  const std::map<std::string, const io::TensorInfo*>& get() {
    if (!names_) {
      names_.emplace();
      for (const auto& t : store_.tensors()) names_->emplace(io::ecosystem_name(store_, t.name), &t);
    }
    return *names_;
  }

 private:
  const io::TensorStore& store_;
  std::optional<std::map<std::string, const io::TensorInfo*>> names_;
};

// The RMSNorm gain that scales a tensor's inputs in its own model, folded
// into them before a geometry test (geometry_test.h); empty when there is none.
std::vector<float> folded_gain(const io::TensorStore& store, const std::map<std::string, const io::TensorInfo*>& names,
                               const io::TensorInfo& tensor, int64_t inputs) {
  const auto gain = detail::input_gain_of(io::ecosystem_name(store, tensor.name));
  if (!gain) return {};
  const auto it = names.find(*gain);
  if (it == names.end() || it->second->shape.size() != 1 || it->second->shape[0] != inputs) return {};
  const auto shape = unit_shape(*it->second);
  std::vector<int64_t> all(static_cast<std::size_t>(inputs));
  std::iota(all.begin(), all.end(), 0);
  return read_units(store, *it->second, shape, all, {0});
}

// The geometry tests that apply to both tensors of a pair (their roles
// agree; structure may pair tensors of different roles).
std::vector<detail::GeometryAxis> common_geometry_axes(const detail::Pair& p) {
  const auto s = detail::geometry_axes(p.source->match_name, p.source->shape);
  const auto t = detail::geometry_axes(p.target->match_name, p.target->shape);
  std::vector<detail::GeometryAxis> both;
  for (const auto axis : s)
    if (std::find(t.begin(), t.end(), axis) != t.end()) both.push_back(axis);
  return both;
}

struct GeometryFinding {
  detail::GeometryEvidence evidence;
  detail::GeometryAxis axis;
};

// A layer reported by its geometry test: the statistic, the sample it saw
// (tested units and anchors) and the transform it sees through.
void adopt(LayerResult& layer, const GeometryFinding& f) {
  const bool units = f.axis == detail::GeometryAxis::Units;
  layer.test = units ? LayerTest::UnitGeometry : LayerTest::InputGeometry;
  layer.undone.push_back(units ? Undone::InputsRotated : Undone::UnitsRotated);
  layer.units = f.evidence.tested;
  layer.inputs = f.evidence.anchors;
  layer.similarity = f.evidence.test.statistic;
  layer.null_similarity = f.evidence.test.null_mean;
  layer.z = f.evidence.test.z;
  layer.log10_p = f.evidence.test.log10_p;
  layer.exact_p = f.evidence.test.exact;
  layer.relative_difference = f.evidence.relative_difference;
  layer.max_abs_difference = f.evidence.max_abs_difference;
}

}  // namespace

CompareResult compare_weights(const io::TensorStore& source, const io::TensorStore& target, const CompareOptions& o) {
  const auto start = Clock::now();
  MDNA_CHECK(o.alpha > 0 && o.alpha < 1, "alpha must lie strictly between 0 and 1");
  CompareResult r;
  r.source_path = source.path();
  r.target_path = target.path();
  r.source_format = std::string(io::format_name(source.format()));
  r.target_format = std::string(io::format_name(target.format()));
  r.combination =
      "Bonferroni over the tests (each tested layer's matched-unit test and every geometry test that applies): "
      "p = min(1, K * min_k p_k), valid under any dependence";

  auto s_candidates = detail::candidates(source, "source", o.seed, r.excluded, o.heads_over_inputs);
  auto t_candidates = detail::candidates(target, "target", o.seed, r.excluded, o.heads_over_inputs);
  r.timings["candidates_ms"] = ms_since(start);
  const auto blocks = detail::align_blocks(source, s_candidates, target, t_candidates, o.seed);
  if (blocks) {
    detail::apply_block_alignment(*blocks, t_candidates);
    if (const auto note = block_note(*blocks)) r.notes.push_back(*note);
  }
  const auto vocabulary = aligned_vocabularies(source, target, r.notes);
  if (vocabulary) {
    detail::restrict_to_shared_tokens(s_candidates, vocabulary->source_tokens, vocabulary->source_rows);
    detail::restrict_to_shared_tokens(t_candidates, vocabulary->target_tokens, vocabulary->target_rows);
  }
  r.timings["block_alignment_ms"] = ms_since(start) - r.timings["candidates_ms"].get<double>();
  if (detail::split_fused_projections(s_candidates, t_candidates) | detail::split_fused_projections(t_candidates, s_candidates))
    r.notes.push_back("fused projections (qkv_proj, gate_up_proj) split to match the other model's separate ones");
  const auto pairs = detail::pair_up(s_candidates, t_candidates);
  EcosystemNames source_names(source), target_names(target);

  const auto test_start = Clock::now();
  std::map<const Candidate*, const Pair*> pair_of_target;
  // The most significant geometry test of each layer that ran one, by index in r.layers.
  std::map<std::size_t, std::optional<GeometryFinding>> geometry;
  for (const auto& p : pairs) pair_of_target[p.target] = &p;
  // The relabelling found for the previous permuted layer, carried into the
  // next layer's inputs.
  std::vector<int64_t> carried;
  int64_t carried_units = 0;
  double min_log10_p = 0;
  bool any_permuted = false;
  // A relabelled copy shows in the first layers searched; after this many
  // fruitless searches the rest are skipped (each costs O(units^3)).
  constexpr int kMaxFruitlessSearches = 3;
  int fruitless_searches = 0;
  for (const auto& tc : t_candidates) {
    LayerResult layer;
    layer.target = tc.name;
    layer.target_shape = tc.info->shape;
    layer.target_layout = layout_text(*tc.info);
    const auto it = pair_of_target.find(&tc);
    if (it == pair_of_target.end()) {
      r.layers.push_back(std::move(layer));
      continue;
    }
    const Pair& p = *it->second;
    const auto& shape = p.source->shape;
    layer.source = p.source->name;
    layer.source_shape = p.source->info->shape;
    layer.source_layout = layout_text(*p.source->info);
    layer.matched_by = p.matched_by;
    layer.undone = undone_by_reading(p);
    const uint64_t seed = detail::sample_seed(o.seed, shape.dims);
    const auto units = sample_indices(shape.units, o.max_units, seed);
    const auto inputs = sample_indices(shape.inputs, o.max_inputs, seed + 1);
    // Inputs relabelled like the previous layer's units, when they are those
    // units (a kernel's input channels, or a dense layer's flattened
    // channel-major features: input j belongs to unit j / (inputs / units)).
    // A head is seen over its inputs (pairing.cpp): its units are the
    // carried units themselves, not its inputs, so nothing is carried there.
    const bool carry = !carried.empty() && !shape.output_head && shape.dims.size() >= 2 && carried_units > 0 &&
                       shape.inputs % carried_units == 0;
    const int64_t group = carry ? shape.inputs / carried_units : 1;
    std::vector<int64_t> target_inputs = inputs;
    if (carry)
      for (int64_t& j : target_inputs) j = carried[static_cast<std::size_t>(j / group)] * group + j % group;
    const auto a = read_units(source, *p.source->info, shape, units, inputs);
    const auto b = read_units(target, *p.target->info, p.target->shape, units, target_inputs);
    const auto c = similarity(a, b, units.size(), units.size(), inputs.size());
    const auto test = alignment_test(c, static_cast<int64_t>(units.size()), seed + 2);
    layer.over_inputs = shape.output_head;
    layer.units = static_cast<int64_t>(units.size());
    layer.inputs = static_cast<int64_t>(inputs.size());
    layer.similarity = test.statistic;
    layer.null_similarity = test.null_mean;
    layer.z = test.z;
    layer.log10_p = test.log10_p;
    const auto d = detail::differences(a, b);
    layer.max_abs_difference = d.max_abs;
    layer.relative_difference = d.relative;
    layer.zero_fraction_source = d.zero_fraction_a;
    layer.zero_fraction_target = d.zero_fraction_b;
    const auto& stored = *p.target->info;
    if (const auto explained = detail::encoding_relative_error(
            target, stored, sample_indices(stored.shape.empty() ? 0 : stored.shape[0], o.max_units, seed + 4)))
      layer.encoding_error = *explained;
    // Geometry tests see through a rotation or relabelling of one axis
    // (geometry_test.h). Which apply depends on names and shapes only, so
    // all of them are counted in the correction, run or not; they run when
    // the matched-unit test leaves the layer unexplained (not significant,
    // or changed beyond what the encoding explains).
    const auto axes = common_geometry_axes(p);
    r.geometry_tests += static_cast<int64_t>(axes.size());
    // Both axes covered: a layer still "new" is new under a rotation or
    // relabelling of either (relation.cpp).
    layer.geometry_tested = axes.size() == 2;
    const double pair_level = std::log10(o.alpha / static_cast<double>(std::max<std::size_t>(pairs.size(), 1)));
    const bool unexplained =
        !(layer.log10_p < pair_level) || layer.relative_difference > detail::unchanged_bound(layer.encoding_error);
    bool seen_through_axis = false;
    if (unexplained && !axes.empty()) {
      detail::GeometryOperand so{&source, p.source->info, shape, folded_gain(source, source_names.get(), *p.source->info, shape.inputs)};
      detail::GeometryOperand to{&target, p.target->info, p.target->shape,
                                 folded_gain(target, target_names.get(), *p.target->info, p.target->shape.inputs)};
      for (const auto axis : axes) {
        so.normalise_span = to.normalise_span = detail::scalable_span(p.source->match_name, axis);
        const auto g = detail::geometry_test(so, to, axis, o.max_units, seed + 5 + static_cast<uint64_t>(axis));
        if (!g) continue;
        min_log10_p = std::min(min_log10_p, g->test.log10_p);
        seen_through_axis = seen_through_axis || g->test.log10_p < pair_level;
        auto& best = geometry[r.layers.size()];
        if (!best || g->test.log10_p < best->evidence.test.log10_p) best = GeometryFinding{*g, axis};
      }
    }
    // Done with these tensors: their pages may leave memory (bounded RSS).
    source.release(*p.source->info);
    target.release(*p.target->info);
    // A test on inputs relabelled by a search over values is no longer the
    // exact permutation test (the search looked at the units it relabels):
    // such a layer is reported, and kept out of the calibrated p-value.
    layer.exact_p = test.exact && !carry;
    if (!carry) {
      ++r.tested_layers;
      min_log10_p = std::min(min_log10_p, layer.log10_p);
    }

    const bool aligned = layer.log10_p < pair_level || seen_through_axis;
    if (aligned && carry && layer.test == LayerTest::MatchedUnits && test.statistic > 0.5) {
      // The relabelling carried in explains this layer's inputs.
      any_permuted = true;
      layer.permuted = true;
      layer.undone.push_back(Undone::Relabelling);
    }
    if (aligned || !o.match_permutations || fruitless_searches >= kMaxFruitlessSearches) {
      carried.clear();
    } else {
      const auto perm = search_permutation(source, target, p, o, seed + 3, carry ? &carried : nullptr, group);
      if (perm.found) {
        layer.permuted = true;
        layer.undone.push_back(Undone::Relabelling);
        any_permuted = true;
        layer.similarity = perm.held_out_similarity;
        r.notes.push_back("target tensor '" + layer.target + "': units match the source's after relabelling (held-out correlation " +
                          std::to_string(perm.held_out_similarity) + "); the p-value of this relabelling is approximate");
        carried = perm.target_of;
        carried_units = shape.units;
      } else {
        carried.clear();
        if (shape.units <= o.max_permutation_units && shape.inputs >= 4) ++fruitless_searches;
      }
    }
    r.layers.push_back(std::move(layer));
  }
  r.timings["tests_ms"] = ms_since(test_start);

  const int64_t k = r.tested_layers + r.geometry_tests;
  r.log10_p_white_box = bonferroni_log10(min_log10_p, k);
  r.log10_p = r.log10_p_white_box;
  const double layer_level = std::log10(o.alpha / static_cast<double>(std::max<int64_t>(k, 1)));
  for (std::size_t i = 0; i < r.layers.size(); ++i) {
    auto& layer = r.layers[i];
    if (!layer.source) continue;
    layer.verdict =
        detail::layer_verdict(layer.log10_p < layer_level, layer.permuted, layer.relative_difference, layer.encoding_error);
    const auto it = geometry.find(i);
    if (it == geometry.end() || !it->second || !(it->second->evidence.test.log10_p < layer_level)) continue;
    // What the geometry saw tells the story when the matched units could
    // not: the layer is derived, or unchanged behind a transform.
    const auto seen = detail::layer_verdict(true, false, it->second->evidence.relative_difference, layer.encoding_error);
    if (layer.verdict == LayerVerdict::New || (layer.verdict == LayerVerdict::Modified && seen == LayerVerdict::FromSource)) {
      adopt(layer, *it->second);
      layer.verdict = seen;
    }
  }
  r.identical_files = same_bytes(source.files(), target.files());

  // The verdict is the decision on the printed p-value; a relabelling found
  // by searching has no exact null yet, so it can withhold "independent"
  // but never decide "derived".
  if (r.identical_files) {
    r.verdict = Verdict::Derived;
    r.decided_by = DecidedBy::Identity;
  } else if (r.log10_p < std::log10(o.alpha)) {
    r.verdict = Verdict::Derived;
    r.decided_by = DecidedBy::WhiteBox;
  } else if (any_permuted) {
    r.verdict = Verdict::Inconclusive;
    r.decided_by = DecidedBy::None;
    r.notes.push_back("the target's units match the source's after a relabelling found by search, which has no exact "
                      "p-value: neither derived nor independent at this level");
  } else if (k == 0) {
    r.verdict = Verdict::Inconclusive;
    r.decided_by = DecidedBy::None;
    r.notes.push_back(s_candidates.empty() || t_candidates.empty()
                          ? "no learned tensor to test in one of the models"
                          : "no tensor of the target has the canonical shape of a source tensor: white-box evidence does "
                            "not apply (different architectures)");
  } else {
    r.verdict = Verdict::Independent;
    r.decided_by = DecidedBy::WhiteBox;
  }
  r.relation = detail::guess_relation(r, source, target);
  if (blocks && dropped_blocks(*blocks) && keeps_the_weights(r.relation)) r.relation = Relation::DepthPruned;
  if (vocabulary && !vocabulary->added.empty() && vocabulary->removed.empty() && keeps_the_weights(r.relation))
    r.relation = Relation::VocabularyExtended;
  r.timings["white_box_ms"] = ms_since(start);
  return r;
}

}  // namespace modeldna::compare
