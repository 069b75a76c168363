// modeldna bench: ProvBench, every detector on every pair of a zoo.
#include <cstdio>
#include <memory>

#include "cli_support.h"
#include "commands.h"
#include "lab_commands.h"
#include "modeldna/bench/provbench.h"

namespace modeldna::cli {

void add_bench_command(CLI::App& app) {
  auto o = std::make_shared<bench::BenchOptions>();
  auto json = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("bench", lab_command_description("bench"));
  add_zoo_option(cmd, o->zoo_dir);
  cmd->add_option("--detectors", o->detectors, "Detectors (default: all; mgmp needs --detector)")->delimiter(',');
  add_detector_option(cmd, o->mgmp_detector_dir);
  cmd->add_option("--probes", o->probes, "Probes of the shared probe set (x3: clean, noisy, CutMix)");
  cmd->add_option("--seed", o->seed, "Seed of the probe set");
  cmd->add_option("--out", o->out_dir, "Write bench.md, bench.json and figures/*.svg here");
  add_json_flag(cmd, *json, "Print bench.json to stdout instead of the Markdown tables");
  cmd->callback([o, json] {
    const auto result = bench::run_bench(*o, [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); });
    if (*json) return print_json(result.json);
    std::printf("%s", result.markdown.c_str());
  });
}

}  // namespace modeldna::cli
