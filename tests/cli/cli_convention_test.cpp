// The one CLI convention (README "Conventions") on every subcommand: each is
// listed here and in `--help`, each has --json, each turns a flag error into
// one "modeldna: error:" line and exit code 1, and each --json is JSON.
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "modeldna/core/json_file.h"
#include "test_support.h"

namespace modeldna {
namespace {

namespace fs = std::filesystem;

// Every command that does something; `zoo` and `registry` only group them.
const std::vector<std::string> kCommands = {
    "compare",      "inspect",    "convert",       "find",          "tree",          "registry add",
    "registry list", "registry show", "registry remove", "registry bench", "zoo build", "zoo show",
    "zoo drift",    "train",        "dna",        "verify",        "eval",          "bench",         "tasks",
    "archs",        "audit",        "verify-attestation"};

struct Result {
  int exit_code = -1;
  std::string out, err;
};

// stdout and stderr apart: --json must be the whole of stdout.
Result run(const std::string& args) {
  char dir[] = "/tmp/modeldna-cli-XXXXXX";
  if (!mkdtemp(dir)) return {};
  const std::string out = std::string(dir) + "/out", err = std::string(dir) + "/err";
  const auto r = testing::run_shell("(" + std::string(MODELDNA_CLI_PATH) + " " + args + " >" + out + " 2>" + err + ")");
  Result result{WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1, read_file(out), read_file(err)};
  fs::remove_all(dir);
  return result;
}

nlohmann::json json_of(const Result& r, const std::string& what) {
  EXPECT_EQ(r.exit_code, 0) << what << ": " << r.err;
  try {
    return nlohmann::json::parse(r.out);
  } catch (const nlohmann::json::exception& e) {
    ADD_FAILURE() << what << ": stdout is not JSON (" << e.what() << "): " << r.out.substr(0, 300);
    return nullptr;
  }
}

// The names in the "Subcommands:" section of a --help text.
std::set<std::string> listed_subcommands(const std::string& help) {
  std::set<std::string> names;
  const auto at = help.find("Subcommands:");
  if (at == std::string::npos) return names;
  std::istringstream lines(help.substr(at));
  std::string line;
  std::getline(lines, line);
  const std::regex entry(R"(^  ([a-z-]+)\b.*)");
  std::smatch m;
  while (std::getline(lines, line))
    if (std::regex_match(line, m, entry)) names.insert(m[1]);
  return names;
}

TEST(CliConvention, TheListHereIsEveryCommandTheHelpShows) {
  std::set<std::string> from_help;
  for (const auto& top : listed_subcommands(run("--help").out)) {
    const auto nested = listed_subcommands(run(top + " --help").out);
    if (nested.empty()) from_help.insert(top);
    for (const auto& sub : nested) from_help.insert(top + " " + sub);
  }
  EXPECT_EQ(from_help, std::set<std::string>(kCommands.begin(), kCommands.end()))
      << "a command was added or removed: list it in kCommands so the checks below cover it";
}

TEST(CliConvention, EveryCommandHasHelpAndJson) {
  for (const auto& command : kCommands) {
    const auto r = run(command + " --help");
    EXPECT_EQ(r.exit_code, 0) << command << ": " << r.err;
    EXPECT_NE(r.out.find("--json"), std::string::npos) << command << " has no --json";
  }
}

TEST(CliConvention, AFlagErrorIsOneLineAndExitCodeOne) {
  for (const auto& command : kCommands) {
    const auto r = run(command + " --no-such-flag");
    EXPECT_EQ(r.exit_code, 1) << command << ": " << r.err;
    EXPECT_EQ(r.out, "") << command;
    EXPECT_EQ(r.err.rfind("modeldna: error: " + command + ": ", 0), 0u) << command << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << command << ": " << r.err;
  }
  // A missing required option, a value outside its set, an unknown command.
  auto r = run("zoo build --preset tiny");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "modeldna: error: zoo build: --out is required (see `modeldna zoo build --help`)\n");
  r = run("zoo build --preset huge --out x");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("modeldna: error: zoo build: --preset: huge not in {tiny,paper,reference}", 0), 0u) << r.err;
  r = run("frobnicate");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "modeldna: error: unknown command 'frobnicate' (see `modeldna --help`)\n");
}

std::string source_path(const std::string& rel) { return std::string(MODELDNA_SOURCE_DIR) + "/" + rel; }

// An --out under a regular file cannot be made: the user's mistake, so one
// "modeldna: error:" line naming the folder and exit 1, never exit 2 (a
// filesystem_error used to read as an internal error).
TEST(CliConvention, AnOutputFolderThatCannotBeMadeIsTheUsersErrorNotABug) {
  const std::string dir = testing::fresh_temp_dir();
  const std::string blocker = dir + "/a-file";
  write_file_atomically(blocker, std::string("not a folder"));
  const std::string parent = source_path("tests/compare/fixtures/parent.pt");
  for (const auto& [command, folder] :
       std::vector<std::pair<std::string, std::string>>{{"zoo build --preset tiny --out " + blocker + "/zoo", blocker + "/zoo/models"},
                                                        {"convert " + parent + " --out " + blocker + "/c.safetensors", blocker}}) {
    const auto r = run(command);
    EXPECT_EQ(r.exit_code, 1) << command << ": " << r.err;
    EXPECT_NE(r.err.find("modeldna: error: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(folder + ": cannot create the folder"), std::string::npos) << command << ": " << r.err;
  }
}

TEST(CliConvention, JsonOnTheFileAndRegistryCommands) {
  const std::string parent = source_path("tests/compare/fixtures/parent.pt");
  const std::string child = source_path("tests/compare/fixtures/parent_q8_0.gguf");
  const std::string dir = testing::fresh_temp_dir();
  const std::string db = dir + "/reg.sqlite";

  EXPECT_FALSE(json_of(run("tasks --json"), "tasks").empty());
  EXPECT_FALSE(json_of(run("archs --json"), "archs").empty());
  EXPECT_EQ(json_of(run("inspect --json " + parent), "inspect")["format"], "pytorch");
  EXPECT_EQ(json_of(run("convert --json " + child + " --out " + dir + "/c.safetensors"), "convert")["out"],
            dir + "/c.safetensors");
  EXPECT_EQ(json_of(run("compare --json --no-black-box " + parent + " " + child), "compare")["verdict"], "derived");
  const auto added = json_of(run("registry add --json --db " + db + " " + parent), "registry add");
  ASSERT_EQ(added.size(), 1u);
  EXPECT_EQ(json_of(run("registry list --json --db " + db), "registry list").size(), 1u);
  EXPECT_EQ(json_of(run("registry show --json --db " + db + " " + parent), "registry show")["path"], parent);
  EXPECT_EQ(json_of(run("find --json --db " + db + " " + child), "find")["parent"], parent);
  json_of(run("registry add --json --db " + db + " " + child), "registry add");
  EXPECT_EQ(json_of(run("tree --json " + parent + " " + child), "tree")["edges"].size(), 1u);
  const auto bench = json_of(run("registry bench --json --seed-db " + db + " --out " + dir + "/scale --sizes 20 --queries 4"),
                             "registry bench");
  ASSERT_EQ(bench.size(), 1u);
  EXPECT_EQ(bench[0]["models"], 20);
  EXPECT_TRUE(fs::exists(dir + "/scale/scale.json"));  // the artifact under --out as well
  const auto removed = json_of(run("registry remove --json --db " + db + " " + parent), "registry remove");
  EXPECT_EQ(removed, nlohmann::json::parse(R"([{"model": ")" + parent + R"(", "removed": 1}])"));
}

TEST(CliConvention, JsonOnTheZooCommands) {
  const char* tiny = std::getenv("MODELDNA_TINY_ZOO");
  ASSERT_NE(tiny, nullptr);
  const auto shown = json_of(run(std::string("zoo show --json --zoo ") + tiny), "zoo show");
  ASSERT_TRUE(shown.contains("models"));
  EXPECT_GT(shown["models"].size(), 10u);
  const auto summary = json_of(run(std::string("zoo show --summary --json --zoo ") + tiny), "zoo show --summary");
  EXPECT_EQ(summary["models"], shown["models"].size());
  // Resuming a copy of the built zoo retrains nothing and prints the same manifest.
  const std::string copy = testing::fresh_temp_dir() + "/zoo";
  fs::copy(tiny, copy, fs::copy_options::recursive);
  const auto zoo_seed = shown.at("zoo_seed").get<uint64_t>();
  // Another seed's build over it is refused, one line naming the manifest, and retrains nothing.
  const auto other = run("zoo build --json --preset tiny --seed " + std::to_string(zoo_seed + 1) + " --out " + copy);
  EXPECT_EQ(other.exit_code, 1) << other.err;
  EXPECT_NE(other.err.find(copy + "/manifest.json: holds the image tiny zoo built with zoo seed " + std::to_string(zoo_seed)),
            std::string::npos) << other.err;
  EXPECT_EQ(other.err.find("] "), std::string::npos) << "retrained: " << other.err;
  const auto resumed = run("zoo build --json --preset tiny --seed " + std::to_string(zoo_seed) + " --out " + copy);
  EXPECT_EQ(resumed.err.find("] "), std::string::npos) << "retrained on resume: " << resumed.err;  // "[i/n] id ..."
  const auto rebuilt = json_of(resumed, "zoo build");
  ASSERT_TRUE(rebuilt.contains("models"));
  EXPECT_EQ(rebuilt["models"].size(), shown["models"].size());
  // LeNets have no BatchNorm: re-estimating changes no answer. One row per
  // trained target of a source, and per scratch model and source of its architecture.
  const auto drift = json_of(run(std::string("zoo drift --json --images 50 --statistics-images 64 --zoo ") + tiny), "zoo drift");
  std::size_t expected_pairs = 0;
  for (const auto& m : shown["models"]) {
    const auto relation = m["relation"].get<std::string>();
    if (relation == "finetune" || relation == "finetune-last-k") ++expected_pairs;
    if (relation != "scratch") continue;
    for (const auto& s : shown["models"]) expected_pairs += s["relation"] == "source" && s["arch"] == m["arch"];
  }
  ASSERT_EQ(drift["pairs"].size(), expected_pairs);
  EXPECT_GT(expected_pairs, 0u);
  for (const auto& row : drift["pairs"]) {
    EXPECT_EQ(row["batchnorm_layers"], 0);
    EXPECT_EQ(row["agreement"], row["agreement_reestimated"]) << row.dump();
  }
  const auto bench = json_of(run(std::string("bench --json --detectors weights --probes 20 --zoo ") + tiny), "bench");
  EXPECT_FALSE(bench["rows"].empty());
}

}  // namespace
}  // namespace modeldna

namespace modeldna {
namespace {

// The library is called by the CLI, the bench and other programs: its
// messages name what is wrong, not a flag of one front end. A string
// literal in src/ that spells "--flag" is one that would mislead a library
// caller (comments may name flags).
TEST(CliConvention, LibraryMessagesNameNoCommandLineFlag) {
  const std::regex flag_in_literal(R"re("[^"]*\s?--[a-z][a-z-]*)re");
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(std::string(MODELDNA_SOURCE_DIR) + "/src")) {
    const auto ext = entry.path().extension();
    if (ext != ".cpp" && ext != ".h") continue;
    std::ifstream in(entry.path());
    int number = 0;
    for (std::string line; std::getline(in, line);) {
      ++number;
      const auto code = line.substr(0, line.find("//"));
      if (std::regex_search(code, flag_in_literal)) found.push_back(entry.path().string() + ":" + std::to_string(number) + ": " + line);
    }
  }
  std::string all;
  for (const auto& f : found) all += f + "\n";
  EXPECT_TRUE(found.empty()) << all;
}

}  // namespace
}  // namespace modeldna
