// `find` and `tree` against the tiny zoos' recorded lineage (manifest.json):
// every model registered, then each one looked up.
// - Weight-preserving derivatives: `find`'s parent is of the model's own
//   lineage (same root source) every time, and the recorded parent in at
//   least 95% of them (the tree's goal, issue 12): a fine-tune's sibling that
//   drifted alike can be closer than the source on some seeds (seed 3: one
//   of 48; BENCHMARKS.md, "House in order, part 2").
// - Layer replacement (replace-last-k): a model assembled from the source's
//   last k layers and a scratch model's others; both donors are named
//   (`parent` is the donor of most layers, the other is in `also_from`).
// - Scratch models and sources: "no parent in the registry".
// - Distilled students carry no weights of their teacher: counted, not
//   asserted (BENCHMARKS.md has the measured figures).
// The tree over all of them: its edges into weight-preserving derivatives
// (precision and recall >= 0.95, the goal of issue 12), and the scratch
// models (and sources) as roots.
//
// Both zoos assert every relation but distillation. On the text zoo this
// holds since the tree checks that its chains are additive and gives a
// partial fine-tune no kurtosis vote (docs/registry.md, "Siblings that drift
// alike"): before, sibling fine-tunes closer to one another than to their
// source were chained (find 4/8 full fine-tunes, 3/4 pretrain-finetune, 2/3
// sources, 3/4 finetune-last-k; tree 25/32 weight-preserving edges), and the
// chain threshold (0.25) was chosen on this zoo after measuring its chains,
// so the text assertions are in-sample; the paper zoos measure it out of
// sample (BENCHMARKS.md).

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>

#include "modeldna/evidence/fingerprint_probes.h"
#include "modeldna/registry/family_tree.h"
#include "modeldna/registry/find_file.h"
#include "modeldna/registry/registry.h"
#include "modeldna/zoo/manifest.h"
#include "test_support.h"

namespace modeldna::registry {
namespace {

namespace fs = std::filesystem;

using zoo::Derivation;
const std::set<Derivation> kWeightPreserving = {Derivation::Finetune,  Derivation::FinetuneLastK,  Derivation::Pruned,
                                                Derivation::Quantized, Derivation::RandomReplace3, Derivation::PretrainFinetune};
// What each zoo's test asserts (see above); distillation is printed.
const std::set<Derivation> kAllRelations = {Derivation::Finetune,         Derivation::FinetuneLastK,  Derivation::Pruned,
                                            Derivation::Quantized,        Derivation::RandomReplace3, Derivation::PretrainFinetune,
                                            Derivation::ReplaceLastK,     Derivation::Scratch,        Derivation::Source};

std::string canonical(const std::string& p) { return fs::weakly_canonical(p).string(); }

// The share of weight-preserving derivatives whose recorded parent `find` and
// `tree` must name: issue 12's goal for the tree, held to by both.
constexpr double kParentRecallGoal = 0.95;

struct ZooRegistry {
  zoo::Manifest manifest;
  std::map<std::string, std::string> path_of;  // model id -> canonical file path
  std::vector<Fingerprint> prints;             // in manifest order
};

ZooRegistry register_zoo(const std::string& dir, Registry& reg) {
  ZooRegistry z{zoo::load_manifest(dir), {}, {}};
  for (const auto& m : z.manifest.models) {
    z.path_of[m.id] = canonical(dir + "/" + m.file);
    z.prints.push_back(evidence::fingerprint_file(z.path_of[m.id]));
    reg.add(z.prints.back());
  }
  return z;
}

void check_find(const std::string& dir, const std::set<Derivation>& asserted) {
  Registry reg(testing::fresh_temp_dir() + "/zoo.sqlite");
  const auto z = register_zoo(dir, reg);
  evidence::ModelFingerprinter runner;
  std::map<std::string, std::pair<int, int>> score;  // relation -> (right, total)
  std::map<std::string, std::string> id_of;           // canonical path -> model id
  for (const auto& [id, path] : z.path_of) id_of[path] = id;
  auto root_of = [&](std::string id) {
    while (const auto& parent = z.manifest.at(id).parent) id = *parent;
    return id;
  };
  int asserted_derived = 0, asserted_right = 0;
  for (std::size_t i = 0; i < z.manifest.models.size(); ++i) {
    const auto& m = z.manifest.models[i];
    SCOPED_TRACE(m.id + " (" + zoo::derivation_label(m) + ")");
    const auto found = find_fingerprint(reg, z.prints[i], {}, runner);
    const std::string parent = found.parent ? canonical(found.parent->model.path) : "";
    std::set<std::string> named;
    if (found.parent) named.insert(parent);
    for (const auto& d : found.also_from) named.insert(canonical(d.path));
    bool right = false;
    if (m.relation == zoo::Derivation::Scratch || m.relation == zoo::Derivation::Source) {
      right = !found.parent;
      if (asserted.count(m.relation)) { EXPECT_TRUE(right) << "found a parent: " << parent; }
    } else if (m.relation == zoo::Derivation::ReplaceLastK) {
      const auto base = z.path_of.at(m.recipe.at("base").get<std::string>());
      right = named.count(z.path_of.at(*m.parent)) && named.count(base);
      if (asserted.count(m.relation)) { EXPECT_TRUE(right) << "parent " << parent << ", " << found.also_from.size() << " other donors"; }
    } else if (m.parent) {
      right = parent == z.path_of.at(*m.parent);
      if (asserted.count(m.relation)) {
        ASSERT_FALSE(parent.empty()) << "no parent found";
        EXPECT_EQ(root_of(id_of.at(parent)), root_of(m.id)) << "parent from another lineage: " << parent;
        ++asserted_derived;
        asserted_right += right;
        if (!right) std::printf("find %s: parent %s, a relative but not the recorded parent\n", m.id.c_str(), parent.c_str());
      }
    }
    auto& s = score[std::string(zoo::derivation_name(m.relation))];
    s.first += right;
    s.second += 1;
  }
  for (const auto& [relation, s] : score) std::printf("find %s: %d/%d\n", relation.c_str(), s.first, s.second);
  EXPECT_GT(asserted_derived, 10);
  const double recall = asserted_derived ? static_cast<double>(asserted_right) / asserted_derived : 0;
  std::printf("margins: find, asserted derivatives: recorded parent %d/%d (%.3f, goal %.2f)\n", asserted_right,
              asserted_derived, recall, kParentRecallGoal);
  EXPECT_GE(recall, kParentRecallGoal);
}

void check_tree(const std::string& dir, const std::set<Derivation>& asserted) {
  Registry reg(testing::fresh_temp_dir() + "/zoo.sqlite");
  const auto z = register_zoo(dir, reg);
  // As `tree --db` builds it: from the stored fingerprints (float16 sketches).
  const auto family = family_tree_of_registry(reg, {});
  const auto& tree = family.tree;

  std::map<std::string, std::size_t> index_of, index_of_path;  // model id / canonical path -> manifest position
  for (std::size_t i = 0; i < z.manifest.models.size(); ++i) {
    index_of[z.manifest.models[i].id] = i;
    index_of_path[z.path_of.at(z.manifest.models[i].id)] = i;
  }
  ASSERT_EQ(family.paths.size(), z.manifest.models.size());
  std::map<std::size_t, std::size_t> parent_of;  // manifest positions, child -> parent
  for (const auto& e : tree.edges)
    parent_of[index_of_path.at(canonical(family.paths[e.child]))] = index_of_path.at(canonical(family.paths[e.parent]));
  int expected = 0, predicted = 0, right = 0, all_expected = 0, all_right = 0;
  for (std::size_t i = 0; i < z.manifest.models.size(); ++i) {
    const auto& m = z.manifest.models[i];
    SCOPED_TRACE(m.id + " (" + zoo::derivation_label(m) + ")");
    const auto it = parent_of.find(i);
    if (m.relation == zoo::Derivation::Scratch || m.relation == zoo::Derivation::Source) {
      if (asserted.count(m.relation)) { EXPECT_EQ(it, parent_of.end()) << "given parent " << z.manifest.models[it->second].id; }
      continue;
    }
    if (!kWeightPreserving.count(m.relation)) continue;
    ++all_expected;
    all_right += it != parent_of.end() && it->second == index_of.at(*m.parent);
    if (!asserted.count(m.relation)) continue;
    ++expected;
    if (it == parent_of.end()) continue;
    ++predicted;
    right += it->second == index_of.at(*m.parent);
  }
  const double recall = expected ? static_cast<double>(right) / expected : 0;
  const double precision = predicted ? static_cast<double>(right) / predicted : 0;
  std::printf("tree, asserted relations: recall %.3f precision %.3f (%d edges expected, %d predicted, %d right); "
              "all weight-preserving: %d/%d right\n",
              recall, precision, expected, predicted, right, all_right, all_expected);
  EXPECT_GT(expected, 10);
  std::printf("margins: tree recall %.3f precision %.3f (goal %.2f)\n", recall, precision, kParentRecallGoal);
  EXPECT_GE(recall, kParentRecallGoal);
  EXPECT_GE(precision, kParentRecallGoal);
}

std::string zoo_dir(const char* variable) {
  const char* dir = std::getenv(variable);
  return dir ? dir : "";
}

TEST(RegistryZoo, FindNamesTheRecordedParentInTheTinyImageZoo) { check_find(zoo_dir("MODELDNA_TINY_ZOO"), kAllRelations); }
TEST(RegistryZoo, FindNamesTheRecordedParentInTheTinyTextZoo) { check_find(zoo_dir("MODELDNA_TINY_TEXT_ZOO"), kAllRelations); }
TEST(RegistryZoo, TheTreeRecoversTheTinyImageZoo) { check_tree(zoo_dir("MODELDNA_TINY_ZOO"), kAllRelations); }
TEST(RegistryZoo, TheTreeRecoversTheTinyTextZoo) { check_tree(zoo_dir("MODELDNA_TINY_TEXT_ZOO"), kAllRelations); }

}  // namespace
}  // namespace modeldna::registry
