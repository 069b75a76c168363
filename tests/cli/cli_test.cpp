// The modeldna executable as a user meets it: exit codes, one-line errors,
// and the train -> verify -> eval path on the tiny zoo.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "modeldna/core/json_file.h"
#include "test_support.h"

namespace modeldna {
namespace {

struct RunResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

RunResult run(const std::string& args) {
  const std::string command = std::string(MODELDNA_CLI_PATH) + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  RunResult result;
  std::array<char, 4096> buffer{};
  while (pipe && fgets(buffer.data(), buffer.size(), pipe)) result.output += buffer.data();
  const int status = pipe ? pclose(pipe) : -1;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string tiny_zoo() {
  const char* dir = std::getenv("MODELDNA_TINY_ZOO");
  return dir ? dir : "";
}

TEST(Cli, HelpSucceeds) {
  const auto r = run("--help");
  EXPECT_EQ(r.exit_code, 0) << r.output;  // each subcommand's --help: cli_convention_test
}

TEST(Cli, AnUnusableThreadCountIsRefusedNotIgnored) {
  for (const char* value : {"abc", "0", "-2", "4x"}) {
    testing::ScopedEnv threads("OMP_NUM_THREADS", value);
    const auto r = run("archs");
    EXPECT_EQ(r.exit_code, 1) << value;
    // libgomp warns on its own before main for some values; ours is the last line.
    const std::string line = std::string("modeldna: error: OMP_NUM_THREADS='") + value +
                             "': expected a whole number of threads from 1 to 4096\n";
    ASSERT_GE(r.output.size(), line.size());
    EXPECT_EQ(r.output.substr(r.output.size() - line.size()), line) << r.output;
  }
  testing::ScopedEnv threads("OMP_NUM_THREADS", "1");
  EXPECT_EQ(run("archs").exit_code, 0);
}

TEST(Cli, MissingModelFileIsOneLineNamingTheFile) {
  const auto r = run("inspect /nonexistent/model.safetensors");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.output, "modeldna: error: /nonexistent/model.safetensors: cannot open file: No such file or directory\n");
}

TEST(Cli, GarbageModelFileIsRefused) {
  const std::string path = testing::fresh_temp_dir() + "/garbage.safetensors";
  testing::write_bytes(path, std::string("\xff\xff\xff\xff\xff\xff\xff\x7f{}", 10));
  const auto r = run("inspect " + path);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find(path + ": "), std::string::npos) << r.output;
}

TEST(Cli, TrainVerifyEvalOnTheTinyZoo) {
  const std::string zoo = tiny_zoo();
  ASSERT_FALSE(zoo.empty());
  const std::string det = testing::fresh_temp_dir() + "/detector";
  auto r = run("train --zoo " + zoo + " --out " + det +
               " --generator-epochs 2 --classifier-epochs 4 --train-probes 600 --verify-probes 200");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("classifier epoch   4/4"), std::string::npos) << r.output;  // the default: two-stage

  r = run("verify --json --detector " + det + " " + zoo + "/models/lenet-s0.safetensors " + zoo +
          "/models/lenet-s0-ft-mnist.safetensors");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto verdict = nlohmann::json::parse(r.output);
  EXPECT_EQ(verdict["probes"], 200);
  EXPECT_GE(verdict["probability"].get<double>(), verdict["probability_95ci"][0].get<double>());
  EXPECT_LE(verdict["probability"].get<double>(), verdict["probability_95ci"][1].get<double>());

  r = run("dna --json --detector " + det + " " + zoo + "/models/lenet-s0.safetensors");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(nlohmann::json::parse(r.output)["mean"].size(), 10u);
  r = run("dna --detector " + det + " " + zoo + "/models/lenet-s0.safetensors");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("10 dimensions over 200 probes"), std::string::npos) << r.output;

  const std::string eval_dir = std::filesystem::path(det).parent_path() / "eval";
  r = run("eval --zoo " + zoo + " --detector " + det + " --out " + eval_dir);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("held-out sources"), std::string::npos);
  EXPECT_EQ(read_file(eval_dir + "/eval.md"), r.output);
  const auto eval_json = read_json_file(eval_dir + "/eval.json");
  // --json: the same document on stdout alone (evaluation holds no timings and is deterministic).
  const std::string printed = eval_dir + "/stdout.json";
  ASSERT_EQ(testing::run_shell(std::string(MODELDNA_CLI_PATH) + " eval --json --zoo " + zoo + " --detector " + det +
                               " > " + printed).status, 0);
  EXPECT_EQ(read_json_file(printed), eval_json);
}

std::string compare_fixture(const std::string& name) {
  return std::string(MODELDNA_SOURCE_DIR) + "/tests/compare/fixtures/" + name;
}

TEST(Cli, CompareGivesAVerdictAndExitsZeroWhateverItIs) {
  auto r = run("compare --json " + compare_fixture("parent.pt") + " " + compare_fixture("parent_q8_0.gguf"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["verdict"], "derived");
  EXPECT_EQ(j["relation"], "quantized");
  r = run("compare --json " + compare_fixture("parent.pt") + " " + compare_fixture("independent.pt"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(nlohmann::json::parse(r.output)["verdict"], "independent");
  const std::string report = testing::fresh_temp_dir() + "/report.html";
  r = run("compare " + compare_fixture("parent.pt") + " " + compare_fixture("parent.onnx") + " --report " + report);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.rfind("verdict: derived", 0), 0u) << r.output;
  EXPECT_TRUE(std::filesystem::exists(report));
}

// modeldna holds no libtorch (runtime.h); what runs a network continues as
// modeldna-lab: a lab command, and compare of two runnable zoo models, whose
// behaviour is then part of the evidence.
TEST(Cli, TheFirstBinaryHasNoLibtorchAndHandsNetworksToTheLab) {
  const auto libraries = testing::run_shell(std::string("ldd ") + MODELDNA_CLI_PATH);
  ASSERT_EQ(libraries.status, 0) << libraries.output;
  EXPECT_EQ(libraries.output.find("libtorch"), std::string::npos) << libraries.output;
  EXPECT_EQ(libraries.output.find("libc10"), std::string::npos) << libraries.output;
  auto r = run("zoo --help");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("build"), std::string::npos) << r.output;  // the lab's real help, with its subcommands
  EXPECT_EQ(r.output.find("modeldna-lab"), std::string::npos) << "usage lines keep the name typed: " << r.output;
  ASSERT_FALSE(tiny_zoo().empty());
  r = run("compare --json " + tiny_zoo() + "/models/lenet-s0.safetensors " + tiny_zoo() +
          "/models/lenet-s0-ft-mnist.safetensors");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["verdict"], "derived");
  EXPECT_TRUE(j["evidence"]["black_box"]["available"].get<bool>()) << j["evidence"]["black_box"].dump();
  // Files that cannot run stay in the first process: no black-box evidence.
  r = run("compare --json " + compare_fixture("parent.pt") + " " + compare_fixture("parent.onnx"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(nlohmann::json::parse(r.output)["evidence"]["black_box"]["available"].get<bool>());
}

std::string io_fixture(const std::string& name) { return std::string(MODELDNA_SOURCE_DIR) + "/tests/io/fixtures/" + name; }

TEST(Cli, InspectEveryFormat) {
  const std::pair<const char*, const char*> files[] = {
      {"all_types.gguf", "gguf"}, {"state_dict.pt", "pytorch"}, {"small.onnx", "onnx"}, {"model.tflite", "tflite"},
      {"tfjs_graph/model.json", "tfjs"}, {"keras2.h5", "keras"}, {"sharded", "safetensors"}};
  for (const auto& [file, format] : files) {
    const auto r = run("inspect --json --tensors " + io_fixture(file));
    ASSERT_EQ(r.exit_code, 0) << file << ": " << r.output;
    const auto j = nlohmann::json::parse(r.output);
    EXPECT_EQ(j["format"], format) << file;
    EXPECT_EQ(j["tensors"].size(), j["tensor_count"].get<size_t>()) << file;
    EXPECT_GT(j["parameter_count"].get<int64_t>(), 0) << file;
  }
  const auto text = run("inspect " + io_fixture("all_types.gguf"));
  EXPECT_NE(text.output.find("architecture: general.architecture = llama"), std::string::npos) << text.output;
}

TEST(Cli, ConvertToSafetensorsAndBack) {
  const std::string out = testing::fresh_temp_dir() + "/converted.safetensors";
  auto r = run("convert " + io_fixture("all_types.gguf") + " --out " + out + " --dtype f16 --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(nlohmann::json::parse(r.output)["dequantized"], 11);
  r = run("inspect --json " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["metadata"]["modeldna.source_format"], "gguf");
  EXPECT_EQ(j["dtypes"]["F16"], 15);  // every real tensor; the I32 one keeps its type
  r = run("convert " + io_fixture("all_types.gguf") + " --out " + out + " --dtype f8");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("dtype must be f32, f16 or keep"), std::string::npos) << r.output;
}

TEST(Cli, CompareRefusesAMissingFileInOneLine) {
  const auto r = run("compare " + compare_fixture("parent.pt") + " /nonexistent/child.gguf");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.output, "modeldna: error: /nonexistent/child.gguf: cannot open file: No such file or directory\n");
}

std::string llama_fixture(const std::string& name) {
  return std::string(MODELDNA_SOURCE_DIR) + "/tests/compare/fixtures/llama/" + name;
}

TEST(Cli, InspectDescribesALanguageModel) {
  const auto r = run("inspect " + llama_fixture("base-q4_k_m.gguf"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("language model: llama, 12 blocks, hidden 256, 4 heads (2 key-value) of 64, feed-forward "
                          "256, vocabulary 512, separate output head\n"),
            std::string::npos)
      << r.output;
}

TEST(Cli, ConvertWritesALlamaAsLlamaCppsGguf) {
  const auto out = testing::fresh_temp_dir() + "/base-q8_0.gguf";
  const auto r = run("convert " + llama_fixture("base/model.safetensors") + " --to gguf --dtype q8_0 --out " + out);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // Byte for byte llama.cpp's own file (tests/io/gguf_writer_test.cpp checks each tensor).
  const auto inspected = run("inspect " + out + " --json");
  EXPECT_NE(inspected.output.find("\"general.file_type\": 7"), std::string::npos) << inspected.output.substr(0, 400);
  const auto refused = run("convert " + llama_fixture("base/model.safetensors") + " --to gguf --dtype q4_k --out " + out);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(refused.output, "modeldna: error: GGUF type 'q4_k': expected f32, f16, bf16, q8_0, q4_k_m, q5_k_m or q6_k\n");
}

TEST(Cli, ALanguageModelWhoseConfigContradictsItselfIsOneLineNamingTheFileAndField) {
  namespace fs = std::filesystem;
  const auto dir = testing::fresh_temp_dir();
  fs::copy_file(llama_fixture("base/model.safetensors"), dir + "/model.safetensors");
  auto config = read_json_file(llama_fixture("base/config.json"));
  config["num_key_value_heads"] = 3;
  write_json_file(dir + "/config.json", config);
  const auto r = run("compare " + dir + "/model.safetensors " + llama_fixture("base-q8_0.gguf"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.output, "modeldna: error: " + dir + "/config.json: num_key_value_heads 3 does not divide num_attention_heads 4\n");
}

TEST(Cli, VerifyRefusesAMissingDetector) {
  const std::string zoo = tiny_zoo();
  const auto r = run("verify --detector /nonexistent/det " + zoo + "/models/lenet-s0.safetensors " + zoo +
                     "/models/lenet-s1.safetensors");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("/nonexistent/det/detector.json"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace modeldna
