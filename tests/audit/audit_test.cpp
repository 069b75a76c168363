// audit end to end on Hugging Face-style folders built here around the tiny
// Llama and llama.cpp's own files of it (tests/compare/fixtures/llama): a
// correct declaration, a wrong one, none, a wrong relation, a merge of two
// bases, PEFT adapters that fit and do not, a permissive license over a
// restrictive base; malformed cards and disagreeing weight files, each one
// clear line naming the folder and field; the CLI's exit codes. Many
// folders: jobs, shards, results kept and resumed after SIGKILL, and two
// processes on one tree through a real PostgreSQL server.
#include "modeldna/audit/audit.h"

#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "modeldna/core/error.h"
#include "modeldna/core/json_file.h"
#include "modeldna/io/open_store.h"
#include "modeldna/io/tensor_store.h"
#include "modeldna/io/safetensors.h"
#include "modeldna/audit/audit_run.h"
#include "processes.h"
#include "test_support.h"

namespace modeldna::audit {
namespace {
namespace fs = std::filesystem;

std::string llama(const std::string& name) { return std::string(MODELDNA_SOURCE_DIR) + "/tests/compare/fixtures/llama/" + name; }

void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

class Audit : public ::testing::Test {
 protected:
  std::string root_ = testing::fresh_temp_dir();

  // A folder with `card` as README.md (none when empty) and `weights` linked in.
  std::string folder(const std::string& name, const std::string& card, const std::vector<std::string>& weights) {
    const std::string dir = root_ + "/" + name;
    fs::create_directories(dir);
    if (!card.empty()) write_text(dir + "/README.md", card);
    for (const auto& w : weights) fs::create_symlink(w, dir + "/" + fs::path(w).filename().string());
    return dir;
  }
  std::string base() {
    if (fs::exists(root_ + "/tiny-llama-base")) return root_ + "/tiny-llama-base";
    const std::string dir = folder("tiny-llama-base", "---\nlicense: llama2\n---\n# The base\n", {llama("base/model.safetensors")});
    fs::copy_file(llama("base/config.json"), dir + "/config.json");
    return dir;
  }
  AuditResult run(const std::string& dir, std::vector<std::string> bases) {
    AuditOptions o;
    o.bases = std::move(bases);
    return audit_folder(dir, o, nullptr);
  }
};

TEST_F(Audit, ACorrectDeclarationIsConfirmed) {
  const auto b = base();
  const auto r = run(folder("tuned", "---\nbase_model: acme/tiny-llama-base\nbase_model_relation: finetune\n---\n",
                            {llama("finetune-q8_0.gguf")}),
                     {b});
  ASSERT_EQ(r.bases.size(), 1u);
  EXPECT_EQ(r.bases[0].finding, Finding::Confirmed) << r.bases[0].reason;
  EXPECT_EQ(r.bases[0].evidence->relation, compare::Relation::FineTuned);
  EXPECT_FALSE(r.relation.contradicted) << r.relation.reason;
  EXPECT_TRUE(r.undeclared.empty());
  EXPECT_FALSE(fails(r, FailOn::Contradicted));
  ASSERT_EQ(r.weights.size(), 1u);
  EXPECT_EQ(r.weights[0].sha256.size(), 64u);
}

TEST_F(Audit, AWrongDeclarationIsContradicted) {
  const auto r = run(folder("wrong", "---\nbase_model: tiny-llama-base\n---\n", {llama("scratch-q8_0.gguf")}), {base()});
  ASSERT_EQ(r.bases.size(), 1u);
  EXPECT_EQ(r.bases[0].finding, Finding::Contradicted) << r.bases[0].reason;
  EXPECT_TRUE(fails(r, FailOn::Contradicted));
}

TEST_F(Audit, AnUndeclaredParentIsFound) {
  const auto r = run(folder("none", "", {llama("base-q8_0.gguf")}), {base()});
  EXPECT_TRUE(r.bases.empty());
  ASSERT_EQ(r.undeclared.size(), 1u);
  EXPECT_EQ(r.undeclared[0].name, "tiny-llama-base");
  EXPECT_EQ(r.undeclared[0].evidence.relation, compare::Relation::Quantized);
  EXPECT_TRUE(fails(r, FailOn::Undeclared));
  EXPECT_NE(r.notes.front().find("no model card"), std::string::npos);
}

TEST_F(Audit, ABaseThatIsNotAvailableIsUnverifiable) {
  const auto r = run(folder("elsewhere", "---\nbase_model: meta-llama/Llama-2-7b-hf\n---\n", {llama("finetune-q8_0.gguf")}), {base()});
  ASSERT_EQ(r.bases.size(), 1u);
  EXPECT_EQ(r.bases[0].finding, Finding::Unverifiable);
  EXPECT_TRUE(fails(r, FailOn::Unverifiable));
  EXPECT_FALSE(fails(r, FailOn::Contradicted));
}

TEST_F(Audit, AQuantizedCopyDeclaredAsAFineTuneContradictsTheRelation) {
  const auto r = run(folder("q4", "---\nbase_model: [tiny-llama-base]\nbase_model_relation: finetune\n---\n", {llama("base-q4_k_m.gguf")}),
                     {base()});
  EXPECT_EQ(r.bases.at(0).finding, Finding::Confirmed);
  EXPECT_TRUE(r.relation.contradicted);
  EXPECT_NE(r.relation.reason.find("quantized"), std::string::npos) << r.relation.reason;
  EXPECT_TRUE(fails(r, FailOn::Contradicted));
  // The same file declared as what it is.
  const auto honest = run(folder("q4-honest", "---\nbase_model: tiny-llama-base\nbase_model_relation: quantized\n---\n",
                                 {llama("base-q4_k_m.gguf")}),
                          {base()});
  EXPECT_FALSE(honest.relation.contradicted) << honest.relation.reason;
}

TEST_F(Audit, APermissiveLicenseOverARestrictiveBaseIsFlagged) {
  const auto r = run(folder("relicensed", "---\nbase_model: tiny-llama-base\nlicense: apache-2.0\n---\n", {llama("finetune-q8_0.gguf")}),
                     {base()});
  ASSERT_EQ(r.license.ancestors.size(), 1u);
  EXPECT_EQ(r.license.ancestors[0].license, "llama2");
  EXPECT_TRUE(r.license.permissive_over_restrictive);
  const auto kept = run(folder("kept", "---\nbase_model: tiny-llama-base\nlicense: llama2\n---\n", {llama("finetune-q8_0.gguf")}), {base()});
  EXPECT_FALSE(kept.license.permissive_over_restrictive);
  EXPECT_EQ(classify_license("MIT"), LicenseClass::Permissive);
  EXPECT_EQ(classify_license("cc-by-nc-4.0"), LicenseClass::Restrictive);
  EXPECT_EQ(classify_license("other"), LicenseClass::Unknown);
}

// Every tensor of `store` as F32 with its name (Hugging Face layout).
struct Weights {
  std::vector<std::string> names;
  std::vector<std::vector<int64_t>> shapes;
  std::vector<std::vector<float>> values;
  void write(const std::string& path) const {
    std::vector<io::TensorToWrite> out;
    for (std::size_t k = 0; k < names.size(); ++k)
      out.push_back({names[k], io::DType::F32, shapes[k], values[k].data(), values[k].size() * sizeof(float)});
    io::write_safetensors(path, out);
  }
};
Weights read_weights(const std::string& path) {
  const auto store = io::open_store(path);
  Weights w;
  for (const auto& t : store.tensors()) {
    w.names.push_back(t.name);
    w.shapes.push_back(t.shape);
    w.values.push_back(store.read_f32(t));
  }
  return w;
}

// A linear merge of the base and another model of its shapes (drawn
// independently), declared with both as bases: both confirmed.
TEST_F(Audit, AMergeConfirmsBothBases) {
  const auto b = base();
  Weights other = read_weights(llama("base/model.safetensors")), merged = other;
  std::mt19937_64 rng(3);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  for (auto& v : other.values)
    for (float& x : v) x = normal(rng);
  const std::string other_dir = folder("other-base", "---\nlicense: mit\n---\n", {});
  other.write(other_dir + "/model.safetensors");
  for (std::size_t k = 0; k < merged.values.size(); ++k)
    for (std::size_t i = 0; i < merged.values[k].size(); ++i) merged.values[k][i] = 0.5f * (merged.values[k][i] + other.values[k][i]);
  const std::string dir = folder("merged", "---\nbase_model:\n  - tiny-llama-base\n  - other-base\nbase_model_relation: merge\n---\n", {});
  merged.write(dir + "/model.safetensors");
  const auto r = run(dir, {b, other_dir});
  ASSERT_EQ(r.bases.size(), 2u);
  for (const auto& check : r.bases) EXPECT_EQ(check.finding, Finding::Confirmed) << check.declared << ": " << check.reason;
  EXPECT_FALSE(r.relation.contradicted) << r.relation.reason;
}

// A PEFT adapter on q_proj and v_proj at rank 8, in PEFT's names.
std::string adapter(const std::string& dir, int64_t rank, int64_t in_features) {
  fs::create_directories(dir);
  const auto base = io::open_store(llama("base/model.safetensors"));
  std::vector<std::string> names;
  std::vector<std::vector<int64_t>> shapes;
  for (int l = 0; l < 12; ++l)
    for (const char* m : {"q_proj", "v_proj"}) {
      const std::string module = "model.layers." + std::to_string(l) + ".self_attn." + m;
      const auto* t = base.find(module + ".weight");
      names.push_back("base_model.model." + module + ".lora_A.weight");
      shapes.push_back({rank, in_features});
      names.push_back("base_model.model." + module + ".lora_B.weight");
      shapes.push_back({t->shape[0], rank});
    }
  std::vector<std::vector<float>> values;
  for (const auto& s : shapes) values.emplace_back(static_cast<std::size_t>(s[0] * s[1]), 0.01f);
  std::vector<io::TensorToWrite> out;
  for (std::size_t k = 0; k < names.size(); ++k) out.push_back({names[k], io::DType::F32, shapes[k], values[k].data(), values[k].size() * 4});
  io::write_safetensors(dir + "/adapter_model.safetensors", out);
  write_text(dir + "/adapter_config.json", R"({"base_model_name_or_path": "tiny-llama-base", "peft_type": "LORA", "r": )" +
                                               std::to_string(rank) + R"(, "target_modules": ["q_proj", "v_proj"]})");
  return dir;
}

TEST_F(Audit, AnAdapterIsCheckedAgainstItsBasesShapes) {
  const auto b = base();
  const auto fits = run(adapter(root_ + "/lora", 8, 256), {b});
  ASSERT_EQ(fits.bases.size(), 1u);  // declared by adapter_config.json alone
  EXPECT_EQ(fits.bases[0].finding, Finding::Confirmed) << fits.bases[0].reason;
  const auto wrong = run(adapter(root_ + "/lora-wrong", 8, 128), {b});
  EXPECT_EQ(wrong.bases.at(0).finding, Finding::Contradicted);
  EXPECT_NE(wrong.bases[0].reason.find("[8, 128]"), std::string::npos) << wrong.bases[0].reason;
  // Declared an adapter, holds full weights.
  const auto full = run(folder("not-an-adapter", "---\nbase_model: tiny-llama-base\nbase_model_relation: adapter\n---\n",
                               {llama("finetune-q8_0.gguf")}),
                        {b});
  EXPECT_TRUE(full.relation.contradicted);
  EXPECT_NE(full.relation.reason.find("full weights"), std::string::npos) << full.relation.reason;
}

// A registry instead of --base: declared names are looked up among the
// registered models' names, and find names an undeclared parent.
TEST_F(Audit, ARegistryResolvesDeclaredNamesAndFindsUndeclaredParents) {
  const auto b = base();
  registry::Registry reg(root_ + "/registry.sqlite");
  registry::StoreFingerprinter weights_only;
  reg.add(weights_only.fingerprint(b + "/model.safetensors"), read_model_folder(b).name());
  reg.add(weights_only.fingerprint(llama("scratch-q8_0.gguf")), "acme/tiny-llama-scratch");
  AuditOptions o;
  o.registry = &reg;
  const auto tuned = audit_folder(folder("tuned", "---\nbase_model: someone/tiny-llama-base\n---\n", {llama("finetune-q8_0.gguf")}), o, nullptr);
  ASSERT_EQ(tuned.bases.size(), 1u);
  EXPECT_EQ(tuned.bases[0].finding, Finding::Confirmed) << tuned.bases[0].reason;
  EXPECT_TRUE(tuned.undeclared.empty());
  EXPECT_EQ(tuned.license.ancestors.at(0).license, "llama2");  // the registered file's folder card
  const auto wrong = audit_folder(folder("wrong", "---\nbase_model: acme/tiny-llama-scratch\n---\n", {llama("base-q8_0.gguf")}), o, nullptr);
  EXPECT_EQ(wrong.bases.at(0).finding, Finding::Contradicted);
  ASSERT_EQ(wrong.undeclared.size(), 1u);
  EXPECT_EQ(wrong.undeclared[0].name, "tiny-llama-base");
  EXPECT_EQ(wrong.undeclared[0].evidence.relation, compare::Relation::Quantized);
  EXPECT_NE(wrong.bases[0].reason.find("derive from tiny-llama-base instead"), std::string::npos) << wrong.bases[0].reason;
  const auto unknown = audit_folder(folder("unknown", "---\nbase_model: nobody/nothing\n---\n", {llama("finetune-q8_0.gguf")}), o, nullptr);
  EXPECT_EQ(unknown.bases.at(0).finding, Finding::Unverifiable);
  EXPECT_NE(unknown.bases[0].reason.find("registry"), std::string::npos) << unknown.bases[0].reason;
  ASSERT_EQ(unknown.undeclared.size(), 1u);  // find still names the parent,
  EXPECT_TRUE(unknown.undeclared[0].may_be_ancestor_of_declared);  // perhaps the unresolved base's own
  EXPECT_FALSE(fails(unknown, FailOn::Undeclared));
  EXPECT_TRUE(fails(wrong, FailOn::Undeclared));
}

// The message of the FormatError `f` throws.
template <typename F>
std::string error_of(F f) {
  try {
    f();
  } catch (const FormatError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST_F(Audit, MalformedFoldersGetOneLineNamingTheFileAndField) {
  const auto b = base();
  const auto bad_yaml = folder("bad-yaml", "---\nbase_model: [a, b\nlicense: mit\n---\n", {llama("finetune-q8_0.gguf")});
  auto message = error_of([&] { run(bad_yaml, {b}); });
  EXPECT_NE(message.find("bad-yaml/README.md: front matter is not valid YAML"), std::string::npos) << message;
  const auto map = folder("map", "---\nbase_model:\n  name: x\n---\n", {llama("finetune-q8_0.gguf")});
  message = error_of([&] { run(map, {b}); });
  EXPECT_NE(message.find("map/README.md: 'base_model' must be a string or a list of strings (found a mapping)"), std::string::npos)
      << message;
  const auto relation = folder("relation", "---\nbase_model: x\nbase_model_relation: distilled\n---\n", {});
  message = error_of([&] { run(relation, {b}); });
  EXPECT_NE(message.find("'base_model_relation' is 'distilled'"), std::string::npos) << message;
  const auto unclosed = folder("unclosed", "---\nbase_model: x\n", {});
  EXPECT_NE(error_of([&] { run(unclosed, {b}); }).find("never closed"), std::string::npos);
  const auto deep = folder("deep", "---\nbase_model: " + std::string(5000, '[') + "\n---\n", {});
  EXPECT_NE(error_of([&] { run(deep, {b}); }).find("nests flow collections"), std::string::npos);
  const auto two = folder("two-models", "", {llama("base/model.safetensors"), llama("scratch-q8_0.gguf")});
  message = error_of([&] { run(two, {b}); });
  EXPECT_NE(message.find("two-models: weight files disagree: scratch-q8_0.gguf is not a conversion of model.safetensors"),
            std::string::npos)
      << message;
  const auto agree = folder("two-formats", "", {llama("base/model.safetensors"), llama("base-q8_0.gguf")});
  EXPECT_NO_THROW(run(agree, {b}));
}

TEST_F(Audit, TheCliExitsThreeOnAFindingAndOneOnABadFolderWhileTheOthersGoOn) {
  const auto b = base();
  const auto good = folder("good", "---\nbase_model: tiny-llama-base\n---\n", {llama("finetune-q8_0.gguf")});
  const auto wrong = folder("wrong", "---\nbase_model: tiny-llama-base\n---\n", {llama("scratch-q8_0.gguf")});
  const auto bad = folder("bad", "---\nbase_model: {\n---\n", {});
  const std::string cli = std::string(MODELDNA_CLI_PATH) + " audit --no-black-box --base " + b + " ";
  auto status = [](const testing::ShellResult& r) { return WEXITSTATUS(r.status); };
  EXPECT_EQ(status(testing::run_shell(cli + good + " --fail-on contradicted")), 0);
  const auto found = testing::run_shell(cli + good + " " + wrong + " --fail-on contradicted --json");
  EXPECT_EQ(status(found), 3) << found.output;
  EXPECT_NE(found.output.find("\"finding\":\"contradicted\""), std::string::npos) << found.output;
  // A tree of model folders (a hub mirror): every one below is audited, one JSON line each.
  const std::string mirror = root_ + "/mirror";
  fs::create_directories(mirror + "/org");
  fs::rename(good, mirror + "/org/good");
  fs::rename(wrong, mirror + "/wrong");
  const auto tree = testing::run_shell(cli + mirror + " --json");  // stdout and stderr together
  EXPECT_EQ(status(tree), 0) << tree.output;
  int json_lines = 0, progress_lines = 0;
  std::istringstream lines(tree.output);
  for (std::string line; std::getline(lines, line);) {
    json_lines += line.rfind("{\"", 0) == 0;
    progress_lines += line.rfind("[", 0) == 0;
  }
  EXPECT_EQ(json_lines, 2) << tree.output;
  EXPECT_EQ(progress_lines, 2) << tree.output;
  EXPECT_NE(tree.output.find(mirror + "/org/good"), std::string::npos) << tree.output;
  fs::rename(mirror + "/org/good", good);
  const auto broken = testing::run_shell(cli + bad + " " + good + " 2>&1");
  EXPECT_EQ(status(broken), 1) << broken.output;
  EXPECT_NE(broken.output.find("modeldna: error: " + bad + "/README.md: front matter is not valid YAML"), std::string::npos)
      << broken.output;
  EXPECT_NE(broken.output.find("base tiny-llama-base: confirmed"), std::string::npos) << broken.output;
}

}  // namespace
}  // namespace modeldna::audit

namespace modeldna::audit {
namespace {

// The BOM of a correct declaration, an undeclared parent and an adapter,
// validated by ajv against the official CycloneDX 1.6 schema.
TEST_F(Audit, TheCycloneDxBomValidatesAgainstTheOfficialSchema) {
  MODELDNA_NPM_PACKAGE(schemas, "cyclonedx-library");
  MODELDNA_NPM_PACKAGE(tools, "ajv-tools");
  const auto b = base();
  const auto tuned = folder("tuned", "---\nbase_model: tiny-llama-base\nbase_model_relation: finetune\nlicense: apache-2.0\n---\n",
                            {llama("finetune-q8_0.gguf")});
  fs::copy_file(llama("base/config.json"), tuned + "/config.json");
  const auto none = folder("none", "", {llama("base-q8_0.gguf")});
  const auto wrong = folder("wrong", "---\nbase_model: tiny-llama-base\nlicense: llama2\n---\n", {llama("scratch-q8_0.gguf")});
  const std::string bom = root_ + "/bom.json";
  const auto run = testing::run_shell(std::string(MODELDNA_CLI_PATH) + " audit --no-black-box --base " + b + " " + tuned + " " +
                                      none + " " + wrong + " --cyclonedx " + bom);
  ASSERT_EQ(WEXITSTATUS(run.status), 0) << run.output;
  const auto valid = testing::run_shell("node " + std::string(MODELDNA_SOURCE_DIR) + "/tests/audit/validate_cyclonedx.js " + tools +
                                        " " + schemas + "/res/schema " + bom + " 2>&1");
  EXPECT_EQ(WEXITSTATUS(valid.status), 0) << valid.output;
  EXPECT_EQ(valid.output, "valid\n");
  const auto doc = read_json_file(bom);
  ASSERT_EQ(doc["components"].size(), 3u);
  const auto& model = doc["components"][0];
  EXPECT_EQ(model["type"], "machine-learning-model");
  EXPECT_EQ(model["licenses"][0]["license"]["id"], "Apache-2.0");
  EXPECT_EQ(model["modelCard"]["modelParameters"]["modelArchitecture"], "LlamaForCausalLM");
  EXPECT_EQ(model["components"][0]["hashes"][0]["content"], io::file_sha256(llama("finetune-q8_0.gguf")));
  const auto& ancestor = model["pedigree"]["ancestors"][0];
  EXPECT_EQ(ancestor["name"], "tiny-llama-base");
  EXPECT_NE(ancestor["properties"].dump().find("fine-tuned"), std::string::npos);
  EXPECT_EQ(doc["components"][1]["pedigree"]["ancestors"][0]["name"], "tiny-llama-base");  // the undeclared parent
  EXPECT_FALSE(doc["components"][2].contains("pedigree"));  // a contradicted base is no ancestor
  EXPECT_EQ(doc["components"][2]["licenses"][0]["license"]["name"], "llama2");
  // A broken BOM is refused: the validator is not a rubber stamp.
  auto broken = doc;
  broken["components"][0]["type"] = "neural-network";
  write_json_file(root_ + "/broken.json", broken);
  EXPECT_NE(WEXITSTATUS(testing::run_shell("node " + std::string(MODELDNA_SOURCE_DIR) + "/tests/audit/validate_cyclonedx.js " + tools +
                                           " " + schemas + "/res/schema " + root_ + "/broken.json").status),
            0);
}

}  // namespace
}  // namespace modeldna::audit

namespace modeldna::audit {
namespace {

// Many folders: a mirror of four, one per finding.
class AuditRun : public Audit {
 protected:
  std::string mirror() {
    const std::string dir = root_ + "/mirror";
    if (fs::exists(dir)) return dir;
    fs::create_directories(dir + "/org");
    base();
    fs::rename(folder("good", "---\nbase_model: tiny-llama-base\n---\n", {llama("finetune-q8_0.gguf")}), dir + "/org/good");
    fs::rename(folder("wrong", "---\nbase_model: tiny-llama-base\n---\n", {llama("scratch-q8_0.gguf")}), dir + "/org/wrong");
    fs::rename(folder("none", "", {llama("base-q8_0.gguf")}), dir + "/none");
    fs::rename(folder("q4", "---\nbase_model: tiny-llama-base\nbase_model_relation: finetune\n---\n", {llama("base-q4_k_m.gguf")}),
               dir + "/q4");
    return dir;
  }
  AuditRunOptions options(int jobs, const std::string& registry = "") {
    AuditRunOptions o;
    o.audit.bases = {base()};
    o.audit.compare.black_box = false;
    o.jobs = jobs;
    o.registry = registry;
    return o;
  }
  // Each outcome's JSON line ("error: ..." for a failed one), in the order reported.
  std::vector<std::string> lines(const AuditRunOptions& o, std::size_t* reused = nullptr) {
    std::vector<std::string> out;
    const auto summary = audit_folders(folders_to_audit({mirror()}).folders, o, nullptr, [&](const FolderOutcome& f) {
      out.push_back(f.result ? to_json(*f.result).dump() : "error: " + f.error);
    });
    if (reused) *reused = summary.reused;
    return out;
  }
  std::string cli() const { return std::string(MODELDNA_CLI_PATH); }
  std::vector<std::string> cli_args(const std::string& db) {
    return {"audit", mirror(), "--base", base(), "--db", db, "--json", "--no-black-box"};
  }
};

// The JSON lines of a CLI log, by folder.
std::map<std::string, std::string> json_lines_by_folder(const std::string& log) {
  std::map<std::string, std::string> out;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("{", 0) == 0) out[nlohmann::json::parse(line).at("folder").get<std::string>()] = line;
  return out;
}

TEST_F(AuditRun, TwoJobsReportWhatOneJobDoesInTheSameOrder) {
  const auto one = lines(options(1));
  ASSERT_EQ(one.size(), 4u);
  EXPECT_EQ(lines(options(2)), one);
  // Sharded: two halves that together are the whole, each folder once.
  auto half = options(2);
  half.shard = parse_shard("1/2");
  const auto second = lines(half);
  half.shard = parse_shard("0/2");
  const auto first = lines(half);
  EXPECT_EQ(first.size() + second.size(), one.size());
  EXPECT_EQ(first.at(0), one.at(0));
  EXPECT_EQ(second.at(0), one.at(1));
}

TEST_F(AuditRun, AKeptResultIsReusedUntilTheFolderChanges) {
  const std::string db = root_ + "/registry.sqlite";
  std::size_t reused = 0;
  const auto fresh = lines(options(2, db), &reused);
  EXPECT_EQ(reused, 0u);
  EXPECT_EQ(lines(options(1, db), &reused), fresh);  // read back from the database, the same JSON
  EXPECT_EQ(reused, 4u);
  // A file added to one folder: that folder alone is audited again.
  write_text(mirror() + "/q4/README.md", "---\nbase_model: tiny-llama-base\nbase_model_relation: quantized\n---\n");
  const auto after = lines(options(1, db), &reused);
  EXPECT_EQ(reused, 3u);
  EXPECT_NE(after, fresh);
  auto again = options(1, db);
  again.resume = false;  // --fresh
  lines(again, &reused);
  EXPECT_EQ(reused, 0u);
}

// An audit killed with SIGKILL after it printed its first result: the
// rerun keeps what was printed and audits the rest.
TEST_F(AuditRun, AnInterruptedRunContinuesWhereItStopped) {
  const std::string db = root_ + "/registry.sqlite", log = root_ + "/killed.log";
  const pid_t pid = testing::spawn(cli(), cli_args(db), log);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (json_lines_by_folder(testing::slurp(log)).empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  kill(pid, SIGKILL);
  testing::wait_exit_code(pid);
  const auto printed = json_lines_by_folder(testing::slurp(log));
  ASSERT_GE(printed.size(), 1u) << testing::slurp(log);
  const auto rerun = testing::run_shell(cli() + " audit " + mirror() + " --base " + base() + " --db " + db + " --json --no-black-box");
  EXPECT_EQ(WEXITSTATUS(rerun.status), 0) << rerun.output;
  const auto all = json_lines_by_folder(rerun.output);
  EXPECT_EQ(all.size(), 4u) << rerun.output;
  for (const auto& [folder, line] : printed) EXPECT_EQ(all.at(folder), line);
  const std::string kept = std::to_string(printed.size()) + " kept from an earlier run";
  EXPECT_NE(rerun.output.find(kept), std::string::npos) << rerun.output;
  EXPECT_NE(rerun.output.find("(kept result)"), std::string::npos) << rerun.output;
}

// Two processes on one tree with a PostgreSQL registry as the shared store:
// each folder audited once, none lost; a third run audits nothing again.
TEST_F(AuditRun, TwoProcessesShareOneTreeThroughPostgresql) {
  testing::PostgresServer server;
  if (!server.installed()) MODELDNA_MISSING("PostgreSQL's server (Debian package postgresql)");
  ASSERT_TRUE(server.started()) << server.logs();
  testing::ScopedEnv cache("MODELDNA_CACHE_DIR", root_.c_str());  // the index cache of a server registry
  std::vector<pid_t> pids;
  for (const char* shard : {"0/2", "1/2"}) {
    auto args = cli_args(server.url());
    args.insert(args.end(), {"--shard", shard, "--jobs", "2"});
    pids.push_back(testing::spawn(cli(), args, root_ + "/shard" + shard[0] + ".log"));
  }
  std::map<std::string, std::string> together;
  std::size_t lines_printed = 0;
  for (std::size_t k = 0; k < pids.size(); ++k) {
    const std::string log = root_ + "/shard" + std::to_string(k) + ".log";
    EXPECT_EQ(testing::wait_exit_code(pids[k]), 0) << testing::slurp(log);
    const auto mine = json_lines_by_folder(testing::slurp(log));
    lines_printed += mine.size();
    together.insert(mine.begin(), mine.end());
  }
  EXPECT_EQ(together.size(), 4u);
  EXPECT_EQ(lines_printed, 4u);  // nothing done twice
  const auto third = testing::run_shell(cli() + " audit " + mirror() + " --base " + base() + " --db " + server.url() + " --json --no-black-box");
  EXPECT_EQ(WEXITSTATUS(third.status), 0) << third.output;
  EXPECT_NE(third.output.find("4 folders: 0 audited, 4 kept from an earlier run"), std::string::npos) << third.output;
  EXPECT_EQ(json_lines_by_folder(third.output), together);
}

}  // namespace
}  // namespace modeldna::audit
