// modeldna: did this target model come from that source model?
// This executable holds no libtorch: the commands that train or run networks
// continue as modeldna-lab, found beside it (runtime.h).
#include "cli_support.h"
#include "commands.h"
#include "lab_commands.h"
#include "runtime.h"

int main(int argc, char** argv) {
  modeldna::cli::set_command_line(argc, argv);
  CLI::App app{"modeldna: model provenance. Did this target model come from that source model?"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "modeldna 0.1.0");
  using namespace modeldna::cli;
  add_compare_command(app);
  add_audit_command(app);
  add_attest_commands(app);
  add_registry_commands(app);
  add_tree_command(app);
  add_lab_placeholder(app, "zoo");
  add_lab_placeholder(app, "tasks");
  add_lab_placeholder(app, "archs");
  add_file_commands(app);
  for (const char* name : {"train", "dna", "verify", "eval", "bench"}) add_lab_placeholder(app, name);
  return run_command_line(app, argc, argv);
}
