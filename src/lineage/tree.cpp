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

// -ln(1 - closeness): a fine-tune's sibling is about twice as far from it
// (1 - closeness) as its parent, whatever the fine-tune's size, so this
// scale separates them by ln 2 where raw closeness differs by a hair.
double edge_strength(double closeness) { return -std::log(std::max(1 - closeness, 0.0) + 1e-4); }

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

}  // namespace

Tree build_tree(const std::vector<const compare::ModelSketch*>& models, const TreeOptions& o) {
  MDNA_CHECK(o.alpha > 0 && o.alpha < 1, "--alpha must lie strictly between 0 and 1");
  const std::size_t n = models.size();
  Tree tree;
  tree.assembled.assign(n, false);
  const double pairs = std::max(1.0, static_cast<double>(n) * static_cast<double>(n - (n > 0)) / 2);
  tree.log10_edge_level = std::log10(o.alpha / pairs);

  // 1. Every pair, tested once (the statistic is symmetric).
  std::map<std::pair<std::size_t, std::size_t>, PairFacts> facts;
  std::vector<std::vector<std::size_t>> relatives(n);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i + 1; j < n; ++j) {
      const auto c = compare::compare_sketches(*models[i], *models[j], o.alpha);
      ++tree.comparisons;
      if (c.tested == 0 || !(c.copied || c.log10_p < tree.log10_edge_level)) continue;
      const std::size_t ti = models[i]->tensors.size(), tj = models[j]->tensors.size();
      facts[{i, j}] = {c, c.log10_p, c.closeness, tensors_with(c, ti, true, false, tree.log10_edge_level),
                       tensors_with(c, tj, false, false, tree.log10_edge_level), tensors_with(c, ti, true, true),
                       tensors_with(c, tj, false, true), tensors_with(c, ti, true, false), tensors_with(c, tj, false, false)};
      relatives[i].push_back(j);
      relatives[j].push_back(i);
    }
  auto related = [&](std::size_t a, std::size_t b) { return facts.count({std::min(a, b), std::max(a, b)}) > 0; };
  // Which of `c`'s sketched tensors its relative `a` derives.
  auto derived_in = [&](std::size_t c, std::size_t a) -> const std::vector<bool>& {
    const auto& f = facts.at({std::min(a, c), std::max(a, c)});
    return c < a ? f.derived_in_first : f.derived_in_second;
  };
  auto copied_in = [&](std::size_t c, std::size_t a) -> const std::vector<bool>& {
    const auto& f = facts.at({std::min(a, c), std::max(a, c)});
    return c < a ? f.copied_in_first : f.copied_in_second;
  };
  auto kept_in = [&](std::size_t c, std::size_t a) -> const std::vector<bool>& {
    const auto& f = facts.at({std::min(a, c), std::max(a, c)});
    return c < a ? f.kept_in_first : f.kept_in_second;
  };
  // Whether more than half of `part`'s tensors, and at least two, are in
  // `kept`. One layer is not enough: two output layers for the same classes
  // correlate weakly without either coming from the other
  // (AWeaklyCorrelatedHeadDoesNotMakeADonorTheTransplantsChild).
  auto mostly_kept = [](const std::vector<bool>& kept, const std::vector<bool>& part) {
    std::size_t in_part = 0, hit = 0;
    for (std::size_t k = 0; k < part.size(); ++k) {
      in_part += part[k];
      hit += part[k] && kept[k];
    }
    return hit >= 2 && 2 * hit > in_part;
  };


  // 2. Models assembled from two unrelated relatives' disjoint layers. The
  //    donors are chosen among whole (not assembled) relatives when there
  //    are such: other assembled models share the same parts second-hand.
  struct Assembly {
    std::size_t a = 0, b = 0;
    std::vector<bool> from_a, from_b;  // the model's sketched tensors each donor derives
  };
  std::vector<std::optional<Assembly>> assembly(n);
  std::vector<int> lossy(n, 0);
  for (std::size_t v = 0; v < n; ++v)
    for (const auto& t : models[v]->tensors) lossy[v] = lossy[v] || t.lossy;
  for (int round = 0; round < 2; ++round) {
    std::vector<std::optional<Assembly>> next(n);
    for (std::size_t c = 0; c < n; ++c) {
      double best = -1;
      for (std::size_t x = 0; x < relatives[c].size(); ++x)
        for (std::size_t y = x + 1; y < relatives[c].size(); ++y) {
          const std::size_t a = relatives[c][x], b = relatives[c][y];
          if (related(a, b)) continue;
          // Every layer of the model is an unchanged copy of one donor's,
          // and the two donors' parts do not overlap.
          const auto& da = copied_in(c, a);
          const auto& db = copied_in(c, b);
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
          if (mostly_kept(kept_in(c, a), db) || mostly_kept(kept_in(c, b), da)) continue;
          // Whole donors first (known from the previous round), then coverage.
          const int whole = (round > 0 && !assembly[a]) + (round > 0 && !assembly[b]);
          // A quantized copy of a donor is the donor's child: the original first.
          const double score = 1000.0 * whole + static_cast<double>(size_a + size_b) - 0.5 * (lossy[a] + lossy[b]) +
                               facts.at({std::min(a, c), std::max(a, c)}).closeness +
                               facts.at({std::min(b, c), std::max(b, c)}).closeness;
          if (score <= best) continue;
          best = score;
          next[c] = size_a >= size_b ? Assembly{a, b, da, db} : Assembly{b, a, db, da};
        }
    }
    assembly = std::move(next);
  }
  for (std::size_t c = 0; c < n; ++c) tree.assembled[c] = assembly[c].has_value();
  // An assembled model is the parent only of models that carry layers of
  // both its donors (built on it), never of one donor's relatives.
  auto may_parent = [&](std::size_t c, std::size_t x) {
    if (!assembly[c]) return true;
    // Most of each part, each layer significant at the edge level: two
    // models' output layers for the same classes correlate without either
    // coming from the other (measured: a scratch donor's head against the
    // other donor's head in a transplant, p = 0.002 per layer, made the
    // donor the transplant's child).
    const auto& in_x = derived_in(c, x);
    std::size_t part_a = 0, part_b = 0, got_a = 0, got_b = 0;
    for (std::size_t k = 0; k < in_x.size(); ++k) {
      part_a += assembly[c]->from_a[k];
      part_b += assembly[c]->from_b[k];
      got_a += in_x[k] && assembly[c]->from_a[k];
      got_b += in_x[k] && assembly[c]->from_b[k];
    }
    return 2 * got_a >= part_a && 2 * got_b >= part_b;
  };

  // 3-4. Weights of the complete digraph; node 0 is the virtual root.
  std::vector<std::vector<double>> w(n + 1, std::vector<double>(n + 1, kNoEdge));
  std::map<std::pair<std::size_t, std::size_t>, DirectionVote> votes;
  std::vector<double> centrality(n, 0.0);
  for (std::size_t v = 0; v < n; ++v) {
    for (std::size_t u : relatives[v]) centrality[v] += facts.at({std::min(u, v), std::max(u, v)}).closeness;
    w[0][v + 1] = o.centrality_weight * centrality[v] + (v < o.root_bias.size() ? o.root_bias[v] : 0.0);
  }
  const double most_central = std::max(1e-9, *std::max_element(centrality.begin(), centrality.end() + (n == 0)));
  // Relatives holding an unchanged copy of one of its layers: a base model's
  // layers live on verbatim in its partial fine-tunes and transplants, a
  // fully fine-tuned sibling's do not.
  std::vector<double> copies(n, 0.0);
  for (std::size_t v = 0; v < n; ++v)
    for (std::size_t u : relatives[v]) {
      const auto& c = copied_in(v, u);
      copies[u] += std::find(c.begin(), c.end(), true) != c.end();
    }
  const double most_copied = std::max(1.0, *std::max_element(copies.begin(), copies.end() + (n == 0)));
  // A partial fine-tune: a whole model holding unchanged copies of some of
  // another whole model's layers, its others changed, where the other's
  // layers are copied by more models (the base: its transplants and other
  // partial fine-tunes copy it too). Full fine-tunes of the base whose last
  // layers moved alike sit closer to the partial one than to the base
  // (measured on the paper text zoo), so as a parent the partial fine-tune is
  // penalised like an assembled model, unless the child holds more of its
  // layers unchanged than of the base's (then the child was built on it) or
  // is its pruned or quantized copy.
  auto held = [&](std::size_t c, std::size_t a) -> int64_t {
    if (!related(c, a)) return 0;
    const auto& k = copied_in(c, a);
    return static_cast<int64_t>(std::count(k.begin(), k.end(), true));
  };
  std::vector<std::optional<std::size_t>> partial_of(n);
  for (std::size_t v = 0; v < n; ++v) {
    if (assembly[v]) continue;
    for (std::size_t r : relatives[v]) {
      const int64_t kept = held(v, r);
      if (assembly[r] || copies[r] <= copies[v] || kept == 0 || kept == static_cast<int64_t>(models[v]->tensors.size()))
        continue;
      if (!partial_of[v] || copies[r] > copies[*partial_of[v]]) partial_of[v] = r;
    }
  }
  auto partial_penalty = [&](std::size_t u, std::size_t v) {
    return partial_of[u] && *partial_of[u] != v && held(v, u) <= held(v, *partial_of[u]) ? o.partial_parent_penalty : 0.0;
  };
  for (const auto& [key, f] : facts) {
    for (const auto& [u, v] : {key, std::make_pair(key.second, key.first)}) {
      const auto vote = direction(*models[u], *models[v], u < v ? f.comparison : swap_sides(f.comparison));
      votes[{u, v}] = vote;
      if (vote.score <= -1 || vote.siblings) continue;  // quantization or pruning never runs backwards
      if (!may_parent(u, v)) continue;
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
                      : o.hub_weight * (centrality[u] / most_central + copies[u] / most_copied) - partial_penalty(u, v);
      w[u + 1][v + 1] = kEdgeBase + edge_strength(f.closeness) + o.direction_weight * vote.score + near_tie_terms -
                        (tree.assembled[u] ? kAssembledParentPenalty : 0);
    }
  }

  // 5. The maximum arborescence.
  auto parent = max_arborescence(w);
  // 6. Chains must be additive (docs/registry.md, "Siblings that drift
  //    alike"): if u is v's parent and g is u's, u lies between g and v, so
  //    d(g, v) is about d(g, u) + d(u, v) (independent changes add, as
  //    squared distances of standardised rows do; 1 - closeness is one).
  //    Siblings that share a drift (fine-tuned alike from one source) are
  //    closer to each other than to their parent, and the arborescence
  //    chains them; the chain is far from additive, so v goes back beside u.
  auto distance = [&](std::size_t a, std::size_t b) {
    return 1 - facts.at({std::min(a, b), std::max(a, b)}).closeness;
  };
  for (std::size_t round = 0; round < n; ++round) {
    bool moved = false;
    for (std::size_t v = 0; v < n; ++v) {
      const std::size_t pu = parent[v + 1];
      if (pu == 0) continue;
      const std::size_t u = pu - 1, pg = parent[u + 1];
      if (pg == 0) continue;
      const std::size_t g = pg - 1;
      // A pruned or quantized child is tied to its parent by its lossy
      // storage; pruning is not independent of fine-tuning (it drops the
      // small weights where much of a fine-tune's change lives: text-cnn
      // chains source -> fine-tune -> pruned lacked 0.38-0.44), so the
      // additivity test is for whole-model edges only.
      if (!related(g, v) || w[g + 1][v + 1] == kNoEdge || votes.at({u, v}).score >= 1) continue;
      const double through = distance(g, u) + distance(u, v);
      const double excess = through > 0 ? (through - distance(g, v)) / through : 0;
      if (excess <= o.chain_excess) continue;
      parent[v + 1] = pg;
      moved = true;
    }
    if (!moved) break;
  }
  for (std::size_t v = 0; v < n; ++v) {
    const std::size_t p = parent[v + 1];
    if (p == 0) {
      tree.roots.push_back(v);
      continue;
    }
    const std::size_t u = p - 1;
    const auto& f = facts.at({std::min(u, v), std::max(u, v)});
    TreeEdge e;
    e.parent = u;
    e.child = v;
    e.log10_p = f.log10_p;
    e.copied = f.comparison.copied;
    e.closeness = f.closeness;
    e.relation = compare::compare_sketches(*models[u], *models[v], o.alpha).relation;
    const auto& vote = votes.at({u, v});
    e.direction_vote = vote.score;
    e.direction_reason = vote.reason;
    if (assembly[v]) {
      e.relation = compare::Relation::LayersTransplanted;
      for (std::size_t d : {assembly[v]->a, assembly[v]->b})
        if (d != u) e.also_from.push_back(d);
    }
    tree.edges.push_back(std::move(e));
  }
  return tree;
}

}  // namespace modeldna::lineage
