// modeldna: did this target model come from that source model?
#include <cstdio>
#include <exception>

#include "cli_support.h"
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
    // --help and --version are "errors" with exit code 0 to CLI11.
    if (e.get_exit_code() == 0) return app.exit(e);
    // Flag errors are usage errors like any other: one line, exit 1.
    std::fprintf(stderr, "modeldna: error: %s\n", modeldna::cli::describe_parse_error(app, e).c_str());
    return 1;
  } catch (const modeldna::Error& e) {
    std::fprintf(stderr, "modeldna: error: %s\n", e.what());
    return 1;
  } catch (const modeldna::InternalError& e) {
    std::fprintf(stderr, "modeldna: %s\n", e.what());  // what() starts "internal error: "
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "modeldna: internal error: %s\n", e.what());
    return 2;
  }
  return 0;
}
