// modeldna zoo build | show
#include <chrono>
#include <cstdio>
#include <memory>

#include "commands.h"
#include "modeldna/zoo/builder.h"
#include "modeldna/zoo/manifest.h"

namespace modeldna::cli {
namespace {

struct ZooOptions {
  std::string preset = "tiny";
  std::string out;
  std::string dir;
  bool fresh = false;
};

void print_lineage(const zoo::Manifest& m) {
  std::printf("%-36s %-17s %-10s %-26s %-19s %-5s %8s %9s\n", "id", "relation", "arch", "parent", "task", "split",
              "test_acc", "params");
  for (const auto& r : m.models) {
    const std::string arch = r.arch.value("arch", "?");
    const std::string relation = zoo::relation_label(r);
    std::printf("%-36s %-17s %-10s %-26s %-19s %-5s %8.4f %9lld\n", r.id.c_str(), relation.c_str(), arch.c_str(),
                r.parent ? r.parent->c_str() : "-", r.task.c_str(), r.split.c_str(), r.test_accuracy,
                static_cast<long long>(r.parameters));
  }
}

}  // namespace

void add_zoo_command(CLI::App& app) {
  auto opts = std::make_shared<ZooOptions>();
  auto* zoo_cmd = app.add_subcommand("zoo", "Build or show a zoo of models with recorded lineage");
  zoo_cmd->require_subcommand(1);

  auto* build = zoo_cmd->add_subcommand("build", "Train a zoo preset and write models + manifest.json");
  build->add_option("--preset", opts->preset, "tiny (tests, < 60 s) or paper (benchmarks, ~30 min)")
      ->check(CLI::IsMember({"tiny", "paper"}));
  build->add_option("--out", opts->out, "Output directory")->required();
  build->add_flag("--fresh", opts->fresh, "Retrain everything instead of resuming");
  build->callback([opts] {
    const auto start = std::chrono::steady_clock::now();
    zoo::BuildOptions options;
    options.out_dir = opts->out;
    options.resume = !opts->fresh;
    options.log = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
    const auto manifest = zoo::build_zoo(zoo::make_preset(opts->preset), options);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    print_lineage(manifest);
    std::printf("\n%zu models, preset %s, built in %.1f s -> %s\n", manifest.models.size(), opts->preset.c_str(),
                seconds, zoo::manifest_path(opts->out).c_str());
  });

  auto* show = zoo_cmd->add_subcommand("show", "Print a zoo's lineage table and accuracies");
  show->add_option("dir", opts->dir, "Zoo directory")->required();
  show->callback([opts] { print_lineage(zoo::load_manifest(opts->dir)); });
}

}  // namespace modeldna::cli
