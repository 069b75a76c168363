#include "modeldna/lineage/tree.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "modeldna/core/error.h"
#include "modeldna/lineage/arborescence.h"
#include "modeldna/lineage/direction.h"

namespace modeldna::lineage {
namespace {

// Real edges outweigh any link to the virtual root, so a model joins its
// family whenever it has a significant relative.
constexpr double kEdgeBase = 1e6;
// A model assembled from others is younger than its donors: as a parent of
// anything else it loses to a whole model unless clearly closer (more than
// any kurtosis vote can add).
constexpr double kAssembledParentPenalty = 0.2;

// The comparison of b with a, from that of a with b: the same pairs and
// statistics with the sides swapped (the statistic is symmetric).
compare::SketchComparison swap_sides(compare::SketchComparison c) {
  for (auto& p : c.pairs) std::swap(p.source, p.target);
  return c;
}

struct PairFacts {
  compare::SketchComparison comparison;  // first model as the source
  double log10_p = 0;
  double closeness = 0;
  // Per sketched tensor of each: derived, each layer's own test significant
  // at the edge level; and unchanged copies ("from source").
  std::vector<bool> derived_in_first, derived_in_second;
  std::vector<bool> copied_in_first, copied_in_second;
  // Per sketched tensor: not new by the pair's own test (weaker than derived).
  std::vector<bool> kept_in_first, kept_in_second;
};

std::vector<bool> tensors_with(const compare::SketchComparison& c, std::size_t tensors, bool source_side, bool unchanged_only,
                               double below_log10_p = 0) {
  std::vector<bool> out(tensors, false);
  for (const auto& p : c.pairs)
    if ((unchanged_only ? p.verdict == compare::LayerVerdict::FromSource : p.verdict != compare::LayerVerdict::New) &&
        (below_log10_p >= 0 || p.copied || p.log10_p < below_log10_p))
      out[source_side ? p.source : p.target] = true;
  return out;
}

// Step 1: every pair tested once (the statistic is symmetric); the pairs
// significant at the edge level are the related ones.
class PairTable {
 public:
  PairTable(const std::vector<const compare::ModelSketch*>& models, double alpha, double log10_edge_level, int64_t& comparisons)
      : relatives_(models.size()) {
    const std::size_t n = models.size();
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = i + 1; j < n; ++j) {
        const auto c = compare::compare_sketches(*models[i], *models[j], alpha);
        ++comparisons;
        if (c.tested == 0 || !(c.copied || c.log10_p < log10_edge_level)) continue;
        const std::size_t ti = models[i]->tensors.size(), tj = models[j]->tensors.size();
        facts_[{i, j}] = {c,
                          c.log10_p,
                          c.closeness,
                          tensors_with(c, ti, true, false, log10_edge_level),
                          tensors_with(c, tj, false, false, log10_edge_level),
                          tensors_with(c, ti, true, true),
                          tensors_with(c, tj, false, true),
                          tensors_with(c, ti, true, false),
                          tensors_with(c, tj, false, false)};
        relatives_[i].push_back(j);
        relatives_[j].push_back(i);
      }
  }
  bool related(std::size_t a, std::size_t b) const { return facts_.count(key(a, b)) > 0; }
  const PairFacts& facts(std::size_t a, std::size_t b) const { return facts_.at(key(a, b)); }
  const std::map<std::pair<std::size_t, std::size_t>, PairFacts>& all() const { return facts_; }
  const std::vector<std::size_t>& relatives(std::size_t v) const { return relatives_[v]; }
  double closeness(std::size_t a, std::size_t b) const { return facts(a, b).closeness; }
  double distance(std::size_t a, std::size_t b) const { return 1 - closeness(a, b); }
  // Which of `c`'s sketched tensors its relative `a` derives (at the edge
  // level), holds unchanged, or does not call new.
  const std::vector<bool>& derived_in(std::size_t c, std::size_t a) const {
    return c < a ? facts(a, c).derived_in_first : facts(a, c).derived_in_second;
  }
  const std::vector<bool>& copied_in(std::size_t c, std::size_t a) const {
    return c < a ? facts(a, c).copied_in_first : facts(a, c).copied_in_second;
  }
  const std::vector<bool>& kept_in(std::size_t c, std::size_t a) const {
    return c < a ? facts(a, c).kept_in_first : facts(a, c).kept_in_second;
  }
  // How many of `c`'s tensors `a` holds unchanged (0 when unrelated).
  int64_t held(std::size_t c, std::size_t a) const {
    if (!related(c, a)) return 0;
    const auto& k = copied_in(c, a);
    return static_cast<int64_t>(std::count(k.begin(), k.end(), true));
  }

 private:
  static std::pair<std::size_t, std::size_t> key(std::size_t a, std::size_t b) { return {std::min(a, b), std::max(a, b)}; }
  std::map<std::pair<std::size_t, std::size_t>, PairFacts> facts_;
  std::vector<std::vector<std::size_t>> relatives_;
};

// Whether more than half of `part`'s tensors, and at least two, are in
// `kept`. One layer is not enough: two output layers for the same classes
// correlate weakly without either coming from the other
// (AWeaklyCorrelatedHeadDoesNotMakeADonorTheTransplantsChild).
bool mostly_kept(const std::vector<bool>& kept, const std::vector<bool>& part) {
  std::size_t in_part = 0, hit = 0;
  for (std::size_t k = 0; k < part.size(); ++k) {
    in_part += part[k];
    hit += part[k] && kept[k];
  }
  return hit >= 2 && 2 * hit > in_part;
}

// A model assembled from two unrelated relatives' disjoint layers.
struct Assembly {
  std::size_t a = 0, b = 0;          // the donor of more layers first
  std::vector<bool> from_a, from_b;  // the model's sketched tensors each donor derives
};

// Step 2's ranking of candidate donor pairs. Whole donors (not assembled
// themselves) come first whatever the coverage: other assembled models share
// the same parts second-hand. Then coverage (layers, at most a few hundred);
// a quantized or pruned copy of a donor is the donor's child, so the
// original goes first by half a layer; closeness breaks the rest. The
// weights only order these terms; none was tuned.
constexpr double kWholeDonorRank = 1000.0;
constexpr double kLossyDonorRank = 0.5;
// Round 1 finds assemblies; round 2 prefers donors round 1 found whole.
constexpr int kAssemblyRounds = 2;

// The best donor pair of `c`, if every layer of `c` is an unchanged copy of
// one donor's and the parts do not overlap.
std::optional<Assembly> best_donors(std::size_t c, const PairTable& pairs, const std::vector<std::optional<Assembly>>& known,
                                    const std::vector<bool>& lossy, bool prefer_whole) {
  std::optional<Assembly> best_pair;
  double best = -1;
  const auto& relatives = pairs.relatives(c);
  for (std::size_t x = 0; x < relatives.size(); ++x)
    for (std::size_t y = x + 1; y < relatives.size(); ++y) {
      const std::size_t a = relatives[x], b = relatives[y];
      if (pairs.related(a, b)) continue;
      const auto& da = pairs.copied_in(c, a);
      const auto& db = pairs.copied_in(c, b);
      std::size_t size_a = 0, size_b = 0;
      bool overlap = false, covered = true;
      for (std::size_t k = 0; k < da.size(); ++k) {
        size_a += da[k];
        size_b += db[k];
        overlap = overlap || (da[k] && db[k]);
        covered = covered && (da[k] || db[k]);
      }
      if (overlap || !covered || size_a == 0 || size_b == 0) continue;
      // A donor's other layers are its own, new to the part the other
      // donor gave. Where they are changed versions of the model's, the
      // "donor" is the model's partial fine-tune and the model its base.
      if (mostly_kept(pairs.kept_in(c, a), db) || mostly_kept(pairs.kept_in(c, b), da)) continue;
      const int whole = (prefer_whole && !known[a]) + (prefer_whole && !known[b]);
      const double score = kWholeDonorRank * whole + static_cast<double>(size_a + size_b) -
                           kLossyDonorRank * (static_cast<double>(lossy[a]) + static_cast<double>(lossy[b])) +
                           pairs.closeness(a, c) + pairs.closeness(b, c);
      if (score <= best) continue;
      best = score;
      best_pair = size_a >= size_b ? Assembly{a, b, da, db} : Assembly{b, a, db, da};
    }
  return best_pair;
}

// Step 2: the assembled models and their donors.
std::vector<std::optional<Assembly>> find_assemblies(const std::vector<const compare::ModelSketch*>& models, const PairTable& pairs) {
  const std::size_t n = models.size();
  std::vector<bool> lossy(n, false);
  for (std::size_t v = 0; v < n; ++v)
    for (const auto& t : models[v]->tensors) lossy[v] = lossy[v] || t.lossy;
  std::vector<std::optional<Assembly>> assembly(n);
  for (int round = 0; round < kAssemblyRounds; ++round) {
    std::vector<std::optional<Assembly>> next(n);
    for (std::size_t c = 0; c < n; ++c) next[c] = best_donors(c, pairs, assembly, lossy, round > 0);
    assembly = std::move(next);
  }
  return assembly;
}

// An assembled model is the parent only of models that carry layers of
// both its donors (built on it), never of one donor's relatives: most of
// each part, each layer significant at the edge level. Two models' output
// layers for the same classes correlate without either coming from the
// other (measured: a scratch donor's head against the other donor's head in
// a transplant, p = 0.002 per layer, made the donor the transplant's child).
bool may_parent(std::size_t c, std::size_t x, const PairTable& pairs, const std::vector<std::optional<Assembly>>& assembly) {
  if (!assembly[c]) return true;
  const auto& in_x = pairs.derived_in(c, x);
  std::size_t part_a = 0, part_b = 0, got_a = 0, got_b = 0;
  for (std::size_t k = 0; k < in_x.size(); ++k) {
    part_a += assembly[c]->from_a[k];
    part_b += assembly[c]->from_b[k];
    got_a += in_x[k] && assembly[c]->from_a[k];
    got_b += in_x[k] && assembly[c]->from_b[k];
  }
  return 2 * got_a >= part_a && 2 * got_b >= part_b;
}

// Step 3: how central each model is among its relatives. A base model is
// close to many (its fine-tunes), and its layers live on verbatim in its
// partial fine-tunes and transplants, where a fully fine-tuned sibling's do not.
struct Hubs {
  std::vector<double> centrality;  // summed closeness to its relatives
  std::vector<double> copies;      // relatives holding an unchanged copy of one of its layers
  double most_central = 0, most_copied = 0;
};

Hubs hubs_of(std::size_t n, const PairTable& pairs) {
  Hubs h{std::vector<double>(n, 0.0), std::vector<double>(n, 0.0), 0, 0};
  for (std::size_t v = 0; v < n; ++v)
    for (std::size_t u : pairs.relatives(v)) {
      h.centrality[v] += pairs.closeness(u, v);
      const auto& c = pairs.copied_in(v, u);
      h.copies[u] += std::find(c.begin(), c.end(), true) != c.end();
    }
  h.most_central = std::max(1e-9, *std::max_element(h.centrality.begin(), h.centrality.end() + (n == 0)));
  h.most_copied = std::max(1.0, *std::max_element(h.copies.begin(), h.copies.end() + (n == 0)));
  return h;
}

// Step 3: partial fine-tunes. A whole model holding unchanged copies of some
// of another whole model's layers, its others changed, where the other's
// layers are copied by more models (the base: its transplants and other
// partial fine-tunes copy it too). Full fine-tunes of the base whose last
// layers moved alike sit closer to the partial one than to the base
// (measured on the paper text zoo), so as a parent the partial fine-tune is
// penalised like an assembled model (partial_penalty).
std::vector<std::optional<std::size_t>> partial_fine_tune_bases(const std::vector<const compare::ModelSketch*>& models,
                                                                const PairTable& pairs,
                                                                const std::vector<std::optional<Assembly>>& assembly,
                                                                const Hubs& hubs) {
  std::vector<std::optional<std::size_t>> partial_of(models.size());
  for (std::size_t v = 0; v < models.size(); ++v) {
    if (assembly[v]) continue;
    for (std::size_t r : pairs.relatives(v)) {
      const int64_t kept = pairs.held(v, r);
      if (assembly[r] || hubs.copies[r] <= hubs.copies[v] || kept == 0 || kept == static_cast<int64_t>(models[v]->tensors.size()))
        continue;
      if (!partial_of[v] || hubs.copies[r] > hubs.copies[*partial_of[v]]) partial_of[v] = r;
    }
  }
  return partial_of;
}

// Steps 3-4: the weights of the complete digraph (node 0 the virtual root)
// and the direction vote of every related ordered pair.
struct WeightedGraph {
  std::vector<std::vector<double>> w;
  std::map<std::pair<std::size_t, std::size_t>, DirectionVote> votes;
};

WeightedGraph weigh_edges(const std::vector<const compare::ModelSketch*>& models, const PairTable& pairs,
                          const std::vector<std::optional<Assembly>>& assembly, const TreeOptions& o) {
  const std::size_t n = models.size();
  WeightedGraph g{std::vector<std::vector<double>>(n + 1, std::vector<double>(n + 1, kNoEdge)), {}};
  const Hubs hubs = hubs_of(n, pairs);
  for (std::size_t v = 0; v < n; ++v)
    g.w[0][v + 1] = o.centrality_weight * hubs.centrality[v] + (v < o.root_bias.size() ? o.root_bias[v] : 0.0);
  const auto partial_of = partial_fine_tune_bases(models, pairs, assembly, hubs);
  // A partial fine-tune loses as the parent of a model that does not build
  // on it: unless the child holds more of its layers unchanged than of the
  // base's (then the child was built on it) or is its pruned or quantized copy.
  auto partial_penalty = [&](std::size_t u, std::size_t v) {
    return partial_of[u] && *partial_of[u] != v && pairs.held(v, u) <= pairs.held(v, *partial_of[u]) ? o.partial_parent_penalty : 0.0;
  };
  for (const auto& [key, f] : pairs.all()) {
    for (const auto& [u, v] : {key, std::make_pair(key.second, key.first)}) {
      const auto vote = direction(*models[u], *models[v], u < v ? f.comparison : swap_sides(f.comparison));
      g.votes[{u, v}] = vote;
      if (vote.score <= -1 || vote.siblings) continue;  // quantization or pruning never runs backwards
      if (!may_parent(u, v, pairs, assembly)) continue;
      // An assembled model's parent is one of its donors (the other is named in also_from).
      if (assembly[v] && u != assembly[v]->a && u != assembly[v]->b) continue;
      // The hub terms and the partial-fine-tune penalty settle near-ties
      // among fine-tunes. A pruned or quantized model (the lossy vote) is a
      // near-copy of the one it was taken from, and a gentle fine-tune leaves
      // it almost as close to its grandparent, the hub, which would win
      // (paper image zoo: two AlexNet fine-tunes' pruned copies hung under
      // the source). Its parent is the closest.
      const bool lossy_child = vote.score >= 1;
      const double near_tie_terms =
          lossy_child ? 0.0
                      : o.hub_weight * (hubs.centrality[u] / hubs.most_central + hubs.copies[u] / hubs.most_copied) -
                            partial_penalty(u, v);
      g.w[u + 1][v + 1] = kEdgeBase + edge_strength(f.closeness) + o.direction_weight * vote.score + near_tie_terms -
                          (assembly[u] ? kAssembledParentPenalty : 0);
    }
  }
  return g;
}

// Step 6: chains must be additive (docs/registry.md, "Siblings that drift
// alike"): if u is v's parent and g is u's, u lies between g and v, so
// d(g, v) is about d(g, u) + d(u, v) (independent changes add, as squared
// distances of standardised rows do; 1 - closeness is one). Siblings that
// share a drift (fine-tuned alike from one source) are closer to each other
// than to their parent, and the arborescence chains them; the chain is far
// from additive, so v goes back beside u.
void unchain_drifting_siblings(std::vector<std::size_t>& parent, const WeightedGraph& g, const PairTable& pairs, double chain_excess) {
  const std::size_t n = parent.size() - 1;
  for (std::size_t round = 0; round < n; ++round) {
    bool moved = false;
    for (std::size_t v = 0; v < n; ++v) {
      const std::size_t pu = parent[v + 1];
      if (pu == 0) continue;
      const std::size_t u = pu - 1, pg = parent[u + 1];
      if (pg == 0) continue;
      const std::size_t gp = pg - 1;
      // A pruned or quantized child is tied to its parent by its lossy
      // storage; pruning is not independent of fine-tuning (it drops the
      // small weights where much of a fine-tune's change lives: text-cnn
      // chains source -> fine-tune -> pruned lacked 0.38-0.44), so the
      // additivity test is for whole-model edges only.
      if (!pairs.related(gp, v) || g.w[gp + 1][v + 1] == kNoEdge || g.votes.at({u, v}).score >= 1) continue;
      const double through = pairs.distance(gp, u) + pairs.distance(u, v);
      const double excess = through > 0 ? (through - pairs.distance(gp, v)) / through : 0;
      if (excess <= chain_excess) continue;
      parent[v + 1] = pg;
      moved = true;
    }
    if (!moved) break;
  }
}

TreeEdge edge_of(std::size_t u, std::size_t v, const std::vector<const compare::ModelSketch*>& models, const PairTable& pairs,
                 const WeightedGraph& g, const std::optional<Assembly>& assembled_child, double alpha) {
  const auto& f = pairs.facts(u, v);
  TreeEdge e;
  e.parent = u;
  e.child = v;
  e.log10_p = f.log10_p;
  e.copied = f.comparison.copied;
  e.closeness = f.closeness;
  e.relation = compare::compare_sketches(*models[u], *models[v], alpha).relation;
  const auto& vote = g.votes.at({u, v});
  e.direction_vote = vote.score;
  e.direction_reason = vote.reason;
  if (assembled_child) {
    e.relation = compare::Relation::LayersTransplanted;
    for (std::size_t d : {assembled_child->a, assembled_child->b})
      if (d != u) e.also_from.push_back(d);
  }
  return e;
}

}  // namespace

// The floor keeps an identical copy (distance 0) finite: -ln 1e-4 = 9.2,
// above any fine-tune's strength; a bound, not a tuned value.
constexpr double kDistanceFloor = 1e-4;
double edge_strength(double closeness) { return -std::log(std::max(1 - closeness, 0.0) + kDistanceFloor); }

Tree build_tree(const std::vector<const compare::ModelSketch*>& models, const TreeOptions& o) {
  MDNA_CHECK(o.alpha > 0 && o.alpha < 1, "alpha must lie strictly between 0 and 1");
  const std::size_t n = models.size();
  Tree tree;
  const double pairs_tested = std::max(1.0, static_cast<double>(n) * static_cast<double>(n - (n > 0)) / 2);
  tree.log10_edge_level = std::log10(o.alpha / pairs_tested);

  const PairTable pairs(models, o.alpha, tree.log10_edge_level, tree.comparisons);   // 1
  const auto assembly = find_assemblies(models, pairs);                               // 2
  tree.assembled.assign(n, false);
  for (std::size_t c = 0; c < n; ++c) tree.assembled[c] = assembly[c].has_value();
  const WeightedGraph graph = weigh_edges(models, pairs, assembly, o);                 // 3-4
  auto parent = max_arborescence(graph.w);                                            // 5
  unchain_drifting_siblings(parent, graph, pairs, o.chain_excess);                    // 6
  for (std::size_t v = 0; v < n; ++v) {
    if (parent[v + 1] == 0) tree.roots.push_back(v);
    else tree.edges.push_back(edge_of(parent[v + 1] - 1, v, models, pairs, graph, assembly[v], o.alpha));
  }
  return tree;
}

}  // namespace modeldna::lineage
