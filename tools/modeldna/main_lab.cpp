// modeldna-lab: every modeldna command, with libtorch in process. modeldna
// continues as this executable when a command trains or runs a network
// (runtime.h); it can also be run directly.
#include <cstddef>

#include "cli_support.h"
#include "commands.h"
#include "modeldna/nn/runtime.h"
#include "runtime.h"

int main(int argc, char** argv) {
  modeldna::cli::set_command_line(argc, argv);
  CLI::App app{"modeldna: model provenance. Did this target model come from that source model?"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "modeldna 0.1.0");
  modeldna::cli::add_compare_command(app);
  modeldna::cli::add_audit_command(app);
  modeldna::cli::add_attest_commands(app);
  modeldna::cli::add_registry_commands(app);
  modeldna::cli::add_tree_command(app);
  modeldna::cli::add_zoo_command(app);
  modeldna::cli::add_info_commands(app);
  modeldna::cli::add_file_commands(app);
  modeldna::cli::add_mgmp_commands(app);
  modeldna::cli::add_bench_command(app);
  // Inside the parse, so that a refused OMP_NUM_THREADS exits like any other user error.
  app.preparse_callback([](std::size_t) { modeldna::nn::configure_runtime(); });
  return modeldna::cli::run_command_line(app, argc, argv);
}
