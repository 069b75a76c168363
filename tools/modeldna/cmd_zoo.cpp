// modeldna zoo build | show | drift
#include <chrono>
#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>

#include "cli_support.h"
#include "commands.h"
#include "lab_commands.h"
#include "modeldna/bench/batchnorm_drift.h"
#include "modeldna/nn/network.h"
#include "modeldna/zoo/builder.h"
#include "modeldna/zoo/manifest.h"

namespace modeldna::cli {
namespace {

struct ZooOptions {
  std::string preset = "tiny";
  std::string modality = "image";
  std::string out;
  std::string dir;
  bool fresh = false;
  bool summary = false;
  uint64_t seed = 0;
  bool json = false;
  bench::DriftOptions drift;
};

void print_lineage(const zoo::Manifest& m) {
  std::printf("%-36s %-17s %-10s %-26s %-19s %-5s %8s %9s\n", "id", "relation", "arch", "parent", "task", "split",
              "test_acc", "params");
  for (const auto& r : m.models) {
    const std::string arch = r.arch.value("arch", "?");
    const std::string relation = zoo::derivation_label(r);
    std::printf("%-36s %-17s %-10s %-26s %-19s %-5s %8.4f %9lld\n", r.id.c_str(), relation.c_str(), arch.c_str(),
                r.parent ? r.parent->c_str() : "-", r.task.c_str(), r.split.c_str(), r.test_accuracy,
                static_cast<long long>(r.parameters));
  }
}

// Per architecture and relation: how many models, and their test accuracy.
void print_summary(const zoo::Manifest& m, bool json) {
  struct Stats {
    int count = 0;
    double sum = 0, min = 1, max = 0, seconds = 0;
  };
  std::map<std::pair<std::string, std::string>, Stats> by_kind;
  double seconds = 0;
  for (const auto& r : m.models) {
    // A language model's accuracy (masked pieces recovered) is not a task accuracy.
    const bool language_model = nn::ArchConfig::from_json(r.arch).head == nn::Head::MaskedLm;
    auto& s = by_kind[{r.arch.value("arch", "?"), std::string(zoo::derivation_name(r.relation)) + (language_model ? " (masked-lm)" : "")}];
    ++s.count;
    s.sum += r.test_accuracy;
    s.min = std::min(s.min, r.test_accuracy);
    s.max = std::max(s.max, r.test_accuracy);
    s.seconds += r.train_seconds;
    seconds += r.train_seconds;
  }
  if (json) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& [kind, st] : by_kind)
      rows.push_back({{"arch", kind.first}, {"relation", kind.second}, {"models", st.count},
                      {"mean_test_accuracy", st.sum / st.count}, {"min_test_accuracy", st.min},
                      {"max_test_accuracy", st.max}, {"train_seconds", st.seconds}});
    print_json({{"models", m.models.size()}, {"train_seconds", seconds}, {"rows", rows}});
    return;
  }
  std::printf("| arch | relation | models | mean test acc | min | max | train s |\n|---|---|---|---|---|---|---|\n");
  for (const auto& [kind, s] : by_kind)
    std::printf("| %s | %s | %d | %.3f | %.3f | %.3f | %.0f |\n", kind.first.c_str(), kind.second.c_str(), s.count,
                s.sum / s.count, s.min, s.max, s.seconds);
  std::printf("\n%zu models, %.0f s of training in total (sum of per-model train_seconds)\n", m.models.size(), seconds);
}

}  // namespace

void add_zoo_command(CLI::App& app) {
  auto opts = std::make_shared<ZooOptions>();
  auto* zoo_cmd = app.add_subcommand("zoo", lab_command_description("zoo"));
  zoo_cmd->require_subcommand(1);

  auto* build = zoo_cmd->add_subcommand("build", "Train a zoo preset and write models + manifest.json");
  build->add_option("--preset", opts->preset,
                    "tiny (tests, about a minute), paper (benchmarks, 10-20 min) or reference (MGMP's "
                    "reference setting, images only, about an hour)")
      ->check(CLI::IsMember(zoo::preset_names()));
  build->add_option("--modality", opts->modality, "image (Fashion-MNIST / MNIST) or text (speeches, e-mails, Moby Dick)")
      ->check(CLI::IsMember({"image", "text"}));
  build->add_option("--out", opts->out, "Output directory")->required();
  build->add_flag("--fresh", opts->fresh, "Retrain everything instead of resuming");
  build->add_option("--seed", opts->seed,
                    "Zoo seed: 0 (default) is the preset as documented; another value trains the same lineage with "
                    "other initialisations and data orders");
  add_json_flag(build, opts->json, "Print the manifest (lineage, recipes, accuracies) as JSON");
  build->callback([opts] {
    const auto start = std::chrono::steady_clock::now();
    zoo::BuildOptions options;
    options.out_dir = opts->out;
    options.resume = !opts->fresh;
    options.log = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
    const auto manifest = zoo::build_zoo(zoo::make_preset(opts->preset, *data::parse_modality(opts->modality), opts->seed), options);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (opts->json) return print_json(zoo::to_json(manifest));
    print_lineage(manifest);
    std::printf("\n%zu models, %s preset %s, built in %.1f s -> %s\n", manifest.models.size(),
                opts->modality.c_str(), opts->preset.c_str(), seconds, zoo::manifest_path(opts->out).c_str());
  });

  auto* show = zoo_cmd->add_subcommand("show", "Print a zoo's lineage table and accuracies");
  add_zoo_option(show, opts->dir);
  show->add_flag("--summary", opts->summary, "Per architecture and relation: count and test accuracy (Markdown)");
  add_json_flag(show, opts->json, "Print the manifest (or with --summary, the summary) as JSON");
  show->callback([opts] {
    const auto manifest = zoo::load_manifest(opts->dir);
    if (opts->summary) return print_summary(manifest, opts->json);
    if (opts->json) return print_json(zoo::to_json(manifest));
    print_lineage(manifest);
  });

  auto* drift = zoo_cmd->add_subcommand(
      "drift", "How often each trained target still agrees with its source, before and after re-estimating BatchNorm");
  add_zoo_option(drift, opts->dir);
  drift->add_option("--images", opts->drift.agreement_images, "Source-task test images the answers are compared on")
      ->check(CLI::PositiveNumber);
  drift->add_option("--statistics-images", opts->drift.statistics_images,
                    "Source-task training images the statistics are re-estimated from")
      ->check(CLI::Range(int64_t{2}, int64_t{1} << 20));
  add_json_flag(drift, opts->json, "Print every pair's agreement as JSON");
  drift->callback([opts] {
    zoo::ZooModels zoo(opts->dir);
    const auto report = bench::measure_batchnorm_drift(zoo, opts->drift);
    if (opts->json) return print_json(report.json);
    std::printf("%s", report.markdown.c_str());
  });
}

}  // namespace modeldna::cli
