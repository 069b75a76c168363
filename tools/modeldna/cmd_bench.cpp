// modeldna bench: ProvBench, every detector on every pair of a zoo.
#include <cstdio>
#include <memory>

#include "commands.h"
#include "modeldna/bench/provbench.h"

namespace modeldna::cli {

void add_bench_command(CLI::App& app) {
  auto o = std::make_shared<bench::BenchOptions>();
  auto* cmd = app.add_subcommand("bench", "Score every (source, candidate) pair of a zoo with every detector");
  cmd->add_option("--zoo", o->zoo_dir, "Zoo directory")->required();
  cmd->add_option("--detectors", o->detectors, "Detectors (default: all; mgmp needs --mgmp)")->delimiter(',');
  cmd->add_option("--mgmp", o->mgmp_dir, "MGMP detector directory (from `modeldna train`)");
  cmd->add_option("--probes", o->probes, "Probes of the shared probe set (x3: clean, noisy, CutMix)");
  cmd->add_option("--seed", o->seed, "Seed of the probe set");
  cmd->add_option("--out", o->out_dir, "Write bench.md, bench.json and figures/*.svg here");
  cmd->callback([o] {
    const auto result = bench::run_bench(*o, [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); });
    std::printf("%s", result.markdown.c_str());
  });
}

}  // namespace modeldna::cli
