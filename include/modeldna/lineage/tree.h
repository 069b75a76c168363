// File: modeldna/lineage/tree.h
// The family trees over many models (docs/registry.md, "Trees"): which model
// came from which, as a directed forest with one root per family, without
// being told how many families there are.
//
// 1. Every pair is put to compare's test on their sketches; an edge needs
//    p below alpha / (n(n-1)/2) (Bonferroni over the pairs).
// 2. A model whose every layer is an unchanged copy of one of two models
//    unrelated to each other was assembled from them (layers transplanted):
//    it is younger than both, its parent is one of them (the other is named
//    in also_from), and it is the parent only of models carrying most layers
//    of both donors' parts, each significant at the edge level (one head
//    correlated with another's does not count). A donor's own layers are
//    new to the other part: when two or more, and most, of them still relate
//    to the model's (its partial fine-tune), the model is their base.
// 3. Edge weights: 10^6 - ln(1 - closeness) + 0.1 x the direction vote
//    (direction.h) + 0.1 x the parent's summed closeness to its relatives
//    (relative to the most connected model): near-ties go to the hub,
//    except for a pruned or quantized child, whose parent is the closest.
//    Quantization and pruning forbid the reverse edge outright, and two
//    models pruned alike are never parent and child. A partial fine-tune
//    (some layers an unchanged copy of a whole relative whose layers more
//    models copy) loses partial_parent_penalty as the parent of a model that
//    does not build on it: fine-tunes of the base whose last layers moved
//    alike sit closer to it than to the base.
// 4. A virtual root links to every model with weight 0.5 x its summed
//    closeness to its relatives: a family's root is the model most of the
//    family is close to (a base model and its fine-tunes form a star).
// 5. Chu-Liu/Edmonds picks the maximum arborescence; models whose parent is
//    the virtual root are roots.
// 6. Chains must be additive: for g -> u -> v, d(g,v) ~ d(g,u) + d(u,v)
//    with d = 1 - closeness (a squared distance of standardised rows, so
//    independent changes add). Siblings fine-tuned alike from one source are
//    closer to each other than to it and get chained; when d(g,v) lacks more
//    than chain_excess of d(g,u) + d(u,v), v becomes u's sibling.
// Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "modeldna/compare/sketch.h"

namespace modeldna::lineage {

/// -ln(1 - closeness) (with a floor at distance 1e-4, so a copy stays
/// finite): a fine-tune's sibling is about twice as far from it as its
/// parent, whatever the fine-tune's size, so this scale separates them by
/// ln 2 where raw closeness differs by a hair. Tree edges and find's ranking
/// both weigh closeness by it.
double edge_strength(double closeness);

struct TreeOptions {
  double alpha = 0.01;             // family-wise, over all pairs
  double direction_weight = 0.1;
  double centrality_weight = 0.5;
  double hub_weight = 0.1;         // a parent with more relatives wins near-ties (a base model's fine-tunes)
  /// A chain g -> u -> v whose distances add up worse than this (the share of
  /// d(g,u) + d(u,v) that d(g,v) lacks) makes v u's sibling.
  double chain_excess = 0.25;
  /// Taken from a partial fine-tune's weight as the parent of a model that
  /// does not build on it (step 3; tree.cpp says when).
  double partial_parent_penalty = 0.2;
  /// Per model (empty: none), added to the weight of its being a root: how
  /// `find` breaks an exact tie between the query and a registered model.
  std::vector<double> root_bias;
};

struct TreeEdge {
  std::size_t parent = 0, child = 0;  // indices into the input
  double log10_p = 0;                 // the pair's sketch test, before the correction
  double closeness = 0;
  compare::Relation relation = compare::Relation::None;  // how the child came from the parent
  double direction_vote = 0;          // > 0: the evidence agrees with this direction
  std::string direction_reason;
  std::vector<std::size_t> also_from;  // other donors of a model assembled from several
  bool copied = false;                 // a layer equal float for float: an edge whatever the p-value
};

struct Tree {
  std::vector<TreeEdge> edges;       // one per non-root model
  std::vector<std::size_t> roots;
  std::vector<bool> assembled;       // per model: built from layers of unrelated models
  int64_t comparisons = 0;           // pairs tested
  double log10_edge_level = 0;       // the corrected significance level of an edge
};

/// The forest over `models` (their sketches, drawn with one seed).
Tree build_tree(const std::vector<const compare::ModelSketch*>& models, const TreeOptions& options = {});

}  // namespace modeldna::lineage
