// audit on model folders built from the tiny image and text zoos (issue 30's
// fixtures from the zoos): every weight-preserving derivative as a folder
// declaring its recorded parent (with the relation the zoo made: quantized
// for the int8 copies, finetune otherwise), and again declaring the
// independent source of another lineage. Weights only (no model runs), with
// both models given as --base.
// - Right declarations: confirmed, relation consistent, for at least 95% of
//   the folders (the recall goal find and tree hold to, registry_zoo_test).
// - Wrong declarations: a confirmation would be a false positive of the
//   calibrated compare at alpha 0.01: their count is held to the binomial
//   bound, never to zero; the recorded parent is then named as an
//   undeclared parent for at least 95%.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "modeldna/audit/audit.h"
#include "modeldna/zoo/manifest.h"
#include "test_support.h"

namespace modeldna::audit {
namespace {
namespace fs = std::filesystem;
using zoo::Derivation;

const std::set<Derivation> kWeightPreserving = {Derivation::Finetune,  Derivation::FinetuneLastK,    Derivation::PretrainFinetune,
                                                Derivation::Pruned,    Derivation::Quantized,        Derivation::RandomReplace3};
constexpr double kRecallGoal = 0.95;  // registry_zoo_test's kParentRecallGoal
constexpr double kAlpha = 0.01;       // compare's default level, which audit uses

// The independent source a wrong card declares: another lineage's root of
// the same kind (classifier or masked language model) where there is one.
std::string other_source(const zoo::Manifest& m, const zoo::ZooModel& model) {
  const zoo::ZooModel* same_kind = nullptr;
  const zoo::ZooModel* any = nullptr;
  const auto root = std::find_if(m.models.begin(), m.models.end(), [&](const zoo::ZooModel& r) { return r.id == model.root; });
  for (const auto& r : m.models) {
    if (r.relation != Derivation::Source || r.id == model.root) continue;
    if (!any) any = &r;
    if (!same_kind && root != m.models.end() && r.arch == root->arch) same_kind = &r;
  }
  return (same_kind ? same_kind : any)->id;
}

void check_zoo(const char* variable) {
  const char* dir = std::getenv(variable);
  ASSERT_TRUE(dir) << variable << " is not set (ctest sets it)";
  const auto manifest = zoo::load_manifest(dir);
  std::map<std::string, std::string> file_of;
  for (const auto& m : manifest.models) file_of[m.id] = fs::absolute(std::string(dir) + "/" + m.file).string();
  const std::string root = testing::fresh_temp_dir();
  auto folder = [&](const std::string& name, const zoo::ZooModel& m, const std::string& declared) {
    const std::string path = root + "/" + name;
    fs::create_directories(path);
    fs::create_symlink(file_of.at(m.id), path + "/model.safetensors");
    std::ofstream(path + "/README.md") << "---\nbase_model: acme/" << declared << "\nbase_model_relation: "
                                       << (m.relation == Derivation::Quantized ? "quantized" : "finetune") << "\nlicense: mit\n---\n";
    return path;
  };
  int64_t n = 0, right_confirmed = 0, right_consistent = 0, wrong_confirmed = 0, wrong_parent_named = 0;
  for (const auto& m : manifest.models) {
    if (!kWeightPreserving.count(m.relation)) continue;
    ++n;
    const std::string other = other_source(manifest, m);
    AuditOptions o;
    o.bases = {file_of.at(*m.parent), file_of.at(other)};
    o.compare.black_box = false;
    const auto right = audit_folder(folder(m.id + "-right", m, *m.parent), o, nullptr);
    const bool confirmed = right.bases.at(0).finding == Finding::Confirmed;
    right_confirmed += confirmed;
    right_consistent += confirmed && !right.relation.contradicted;
    if (!confirmed || right.relation.contradicted)
      std::printf("%s declaring %s: %s; relation: %s\n", m.id.c_str(), m.parent->c_str(), right.bases[0].reason.c_str(),
                  right.relation.reason.c_str());
    const auto wrong = audit_folder(folder(m.id + "-wrong", m, other), o, nullptr);
    wrong_confirmed += wrong.bases.at(0).finding == Finding::Confirmed;
    wrong_parent_named += std::any_of(wrong.undeclared.begin(), wrong.undeclared.end(),
                                      [&](const UndeclaredParent& u) { return u.name == *m.parent; });
  }
  const auto bound = testing::binomial_upper_bound(n, kAlpha, 1e-4);
  std::printf("margins: %s %lld folders: right confirmed %lld, relation consistent %lld; wrong confirmed %lld (bound %lld), "
              "parent named undeclared %lld\n",
              variable, static_cast<long long>(n), static_cast<long long>(right_confirmed), static_cast<long long>(right_consistent),
              static_cast<long long>(wrong_confirmed), static_cast<long long>(bound), static_cast<long long>(wrong_parent_named));
  ASSERT_GT(n, 20);
  EXPECT_GE(static_cast<double>(right_consistent), kRecallGoal * static_cast<double>(n));
  EXPECT_LE(wrong_confirmed, bound);
  EXPECT_GE(static_cast<double>(wrong_parent_named), kRecallGoal * static_cast<double>(n));
}

TEST(AuditZoo, DeclarationsAboutTheTinyImageZoo) { check_zoo("MODELDNA_TINY_ZOO"); }
TEST(AuditZoo, DeclarationsAboutTheTinyTextZoo) { check_zoo("MODELDNA_TINY_TEXT_ZOO"); }

}  // namespace
}  // namespace modeldna::audit
