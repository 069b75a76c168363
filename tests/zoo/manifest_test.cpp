#include "modeldna/zoo/manifest.h"

#include <set>
#include <string>

#include "modeldna/core/error.h"
#include "modeldna/core/json_file.h"
#include "test_support.h"

namespace modeldna::zoo {
namespace {

ZooModel record(const std::string& id, Derivation relation, std::optional<std::string> parent,
                   const std::string& root) {
  ZooModel m;
  m.id = id;
  m.file = "models/" + id + ".safetensors";
  m.arch = {{"arch", "lenet"}, {"in_channels", 1}, {"image_size", 28}, {"num_classes", 10}, {"width", 0.5}};
  m.parent = std::move(parent);
  m.root = root;
  m.relation = relation;
  m.task = "fashion";
  m.split = "test";
  m.seed = 1000;
  m.train_examples = 4096;
  m.test_accuracy = 0.8125;
  m.parameters = 56074;
  m.train_seconds = 1.5;
  return m;
}

Manifest sample() {
  Manifest m;
  m.preset = "tiny";
  m.train_tasks = {"fashion-permuted"};
  m.test_tasks = {"mnist"};
  m.train_sources = {"lenet-s0"};
  m.heldout_sources = {"lenet-s1"};
  m.models.push_back(record("lenet-s0", Derivation::Source, std::nullopt, "lenet-s0"));
  m.models.back().recipe = {{"optimizer", "sgd"}, {"lr", 0.05}, {"epochs", 3}};
  m.models.push_back(record("lenet-s1", Derivation::Source, std::nullopt, "lenet-s1"));
  m.models.push_back(record("lenet-scratch-mnist", Derivation::Scratch, std::nullopt, ""));
  auto rep = record("lenet-s0-rep2-mnist", Derivation::ReplaceLastK, "lenet-s0", "lenet-s0");
  rep.k = 2;
  rep.task = "mnist";
  rep.recipe = {{"base", "lenet-scratch-mnist"}};
  rep.train_examples = 0;
  m.models.push_back(rep);
  return m;
}

TEST(Manifest, RoundTripsThroughItsFile) {
  const std::string dir = testing::fresh_temp_dir();
  const Manifest original = sample();
  save_manifest(dir, original);
  EXPECT_EQ(manifest_path(dir), dir + "/manifest.json");
  const Manifest loaded = load_manifest(dir);
  EXPECT_EQ(to_json(loaded), to_json(original));
  EXPECT_EQ(loaded.version, kManifestVersion);
  EXPECT_EQ(loaded.preset, "tiny");
  ASSERT_EQ(loaded.models.size(), 4u);
  const ZooModel& rep = loaded.at("lenet-s0-rep2-mnist");
  EXPECT_EQ(rep.parent, std::optional<std::string>("lenet-s0"));
  EXPECT_EQ(rep.k, 2);
  EXPECT_EQ(rep.recipe["base"], "lenet-scratch-mnist");
  EXPECT_FALSE(loaded.at("lenet-scratch-mnist").parent.has_value());
  EXPECT_EQ(loaded.at("lenet-s0").test_accuracy, 0.8125);
  EXPECT_EQ(loaded.at("lenet-s0").recipe["lr"], 0.05);
}

TEST(Manifest, FindAtAndSources) {
  const Manifest m = sample();
  EXPECT_EQ(m.find("nope"), nullptr);
  ASSERT_NE(m.find("lenet-s1"), nullptr);
  EXPECT_EQ(m.find("lenet-s1")->relation, Derivation::Source);
  EXPECT_THROW_MSG(m.at("nope"), UsageError, "no model 'nope'");
  const auto sources = m.sources();
  ASSERT_EQ(sources.size(), 2u);
  EXPECT_EQ(sources[0]->id, "lenet-s0");
  EXPECT_EQ(sources[1]->id, "lenet-s1");
}

TEST(Manifest, MissingFileIsAFormatError) {
  const std::string dir = testing::fresh_temp_dir();
  EXPECT_THROW_MSG(load_manifest(dir), FormatError, "manifest.json");
}

// Writes `doc` as <dir>/manifest.json and expects load_manifest to refuse it,
// naming the file and the problem.
void expect_refused(const nlohmann::json& doc, const std::string& problem) {
  const std::string dir = testing::fresh_temp_dir();
  write_json_file(manifest_path(dir), doc);
  EXPECT_THROW_MSG(load_manifest(dir), FormatError, manifest_path(dir) + ": " + problem);
}

TEST(Manifest, RefusesAWrongFormatTag) {
  auto doc = to_json(sample());
  doc["format"] = "modeldna-evidence";
  expect_refused(doc, "not a modeldna zoo manifest");
  doc.erase("format");
  expect_refused(doc, "not a modeldna zoo manifest");
  expect_refused(nlohmann::json::array({1, 2}), "");
}

TEST(Manifest, RefusesAnotherVersion) {
  auto doc = to_json(sample());
  doc["version"] = 2;
  expect_refused(doc, "manifest version 2 is not supported");
  doc["version"] = "1";
  expect_refused(doc, "malformed manifest");
}

TEST(Manifest, RefusesDuplicateIds) {
  auto doc = to_json(sample());
  doc["models"].push_back(doc["models"][1]);
  expect_refused(doc, "duplicate model id 'lenet-s1'");
}

TEST(Manifest, RefusesAnUnknownParent) {
  auto doc = to_json(sample());
  doc["models"][3]["parent"] = "lenet-s7";
  expect_refused(doc, "model 'lenet-s0-rep2-mnist' names unknown parent 'lenet-s7'");
}

TEST(Manifest, RefusesFilesOutsideTheZoo) {
  for (const std::string file : {"../outside.safetensors", "models/../../etc/passwd", "/etc/passwd", ""}) {
    SCOPED_TRACE(file);
    auto doc = to_json(sample());
    doc["models"][2]["file"] = file;
    expect_refused(doc, "model 'lenet-scratch-mnist': file must be a path inside the zoo");
  }
}

TEST(Manifest, RefusesMissingOrIllTypedFields) {
  for (const std::string field : {"id", "file", "arch", "parent", "root", "relation", "k", "task", "split", "recipe",
                                  "seed", "train_examples", "test_accuracy", "parameters", "train_seconds"}) {
    SCOPED_TRACE(field);
    auto doc = to_json(sample());
    doc["models"][0].erase(field);
    expect_refused(doc, "malformed manifest");
  }
  for (const std::string field : {"version", "preset", "train_tasks", "test_tasks", "train_sources",
                                  "heldout_sources", "models"}) {
    SCOPED_TRACE(field);
    auto doc = to_json(sample());
    doc.erase(field);
    expect_refused(doc, "malformed manifest");
  }
  auto doc = to_json(sample());
  doc["models"][0]["k"] = "two";
  expect_refused(doc, "malformed manifest");
  doc = to_json(sample());
  doc["models"][0]["test_accuracy"] = nullptr;
  expect_refused(doc, "malformed manifest");
}

TEST(Manifest, RefusesAnUnknownRelation) {
  auto doc = to_json(sample());
  doc["models"][2]["relation"] = "adopted";
  expect_refused(doc, "model 'lenet-scratch-mnist': unknown relation 'adopted'");
}

TEST(Manifest, EveryRelationHasOneNameBothWays) {
  std::set<std::string> names;
  for (int i = 0; i <= static_cast<int>(Derivation::Distilled); ++i) {
    const auto r = static_cast<Derivation>(i);
    names.insert(std::string(derivation_name(r)));
    EXPECT_EQ(parse_derivation(derivation_name(r)), r);
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(Derivation::Distilled) + 1);
  EXPECT_EQ(parse_derivation("Finetune"), std::nullopt);
}

TEST(Manifest, RefusesInvalidJson) {
  const std::string dir = testing::fresh_temp_dir();
  testing::write_bytes(manifest_path(dir), "{\"format\": \"modeldna-zoo\", ");
  EXPECT_THROW_MSG(load_manifest(dir), FormatError, "manifest.json: invalid JSON");
}

}  // namespace
}  // namespace modeldna::zoo
