// modeldna: did this target model come from that source model?
#include <cstdio>
#include <exception>

#include "commands.h"
#include "modeldna/core/error.h"
#include "modeldna/nn/runtime.h"

int main(int argc, char** argv) {
  CLI::App app{"modeldna: model provenance. Did this target model come from that source model?"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "modeldna 0.1.0");
  modeldna::cli::add_compare_command(app);
  modeldna::cli::add_registry_commands(app);
  modeldna::cli::add_tree_command(app);
  modeldna::cli::add_zoo_command(app);
  modeldna::cli::add_info_commands(app);
  modeldna::cli::add_file_commands(app);
  modeldna::cli::add_mgmp_commands(app);
  modeldna::cli::add_bench_command(app);
  try {
    modeldna::nn::configure_threads();
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const modeldna::Error& e) {
    std::fprintf(stderr, "modeldna: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "modeldna: internal error: %s\n", e.what());
    return 2;
  }
  return 0;
}
