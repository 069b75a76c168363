// modeldna registry bench: `find` at scale (registry/scale_bench.h says how
// the synthetic registries are grown and queried; BENCHMARKS.md, "Registry
// at scale"). Prints the rows as a Markdown table or JSON.
#include <cstdio>
#include <memory>

#include "cli_support.h"
#include "commands.h"
#include "modeldna/core/json_file.h"
#include "modeldna/registry/scale_bench.h"

namespace modeldna::cli {
namespace {

struct BenchRegistryOptions {
  registry::ScaleBenchOptions bench;
  bool json = false;
};

void print_row(const registry::ScaleRow& r) {
  std::printf("| %lld | %.1f | %.1f | %.2f | %.2f | %.2f / %.2f | %.2f / %.2f / %.2f | %d/%d | %d/%d | %.0f | %.0f |\n",
              static_cast<long long>(r.models), r.add_seconds, r.index_build_seconds, r.find_median_ms, r.find_p90_ms,
              r.find_median_derived_ms, r.find_median_independent_ms, r.median_search_ms, r.median_tests_ms, r.median_rest_ms,
              r.parents_right, r.parents, r.no_parent_right, r.no_parent, r.disk_bytes_per_model, r.rss_mb);
  std::fflush(stdout);
}

void run_bench(const BenchRegistryOptions& o) {
  if (!o.json)
    std::printf("| models | add s | index build s | find median ms | p90 ms | median derived / independent ms | "
                "median index / tests / rest ms | parents right | no parent right | disk B/model | RSS MB |\n"
                "|---|---|---|---|---|---|---|---|---|---|---|\n");
  const auto rows = registry::run_scale_bench(o.bench, [&](const registry::ScaleRow& r) {
    if (!o.json) print_row(r);
  });
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : rows) out.push_back(registry::to_json(r));
  write_json_file(o.bench.out_dir + "/scale.json", out);
  if (o.json) print_json(out);
}

}  // namespace

void add_registry_bench_command(CLI::App& registry) {
  auto o = std::make_shared<BenchRegistryOptions>();
  auto* cmd = registry.add_subcommand("bench", "Time `find` on synthetic registries grown from a registry of real fingerprints");
  cmd->add_option("--seed-db", o->bench.seed_registry, "A registry of real fingerprints to grow from")->required();
  cmd->add_option("--out", o->bench.out_dir, "Folder for the synthetic registry and scale.json")->required();
  cmd->add_option("--sizes", o->bench.sizes, "Registry sizes, increasing (default 1000,10000,100000)")->delimiter(',');
  cmd->add_option("--queries", o->bench.queries, "Timed queries per size, half with a registered parent (default 200)");
  cmd->add_option("--seed", o->bench.seed, "Random seed");
  add_json_flag(cmd, o->json, "Print scale.json's rows to stdout instead of the Markdown table");
  cmd->callback([o] { run_bench(*o); });
}

}  // namespace modeldna::cli
