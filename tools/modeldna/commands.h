// The subcommands of the modeldna executable: one file each, thin over the
// library (parse options, call, print).
#pragma once

#include <CLI/CLI.hpp>

namespace modeldna::cli {

void add_zoo_command(CLI::App& app);
void add_info_commands(CLI::App& app);  // tasks, archs
void add_file_commands(CLI::App& app);  // inspect, convert
void add_mgmp_commands(CLI::App& app);  // train, dna, verify, eval
void add_bench_command(CLI::App& app);
void add_compare_command(CLI::App& app);
void add_audit_command(CLI::App& app);
void add_attest_commands(CLI::App& app);  // verify-attestation
void add_registry_commands(CLI::App& app);  // registry add|list|remove|show|bench, find
void add_registry_bench_command(CLI::App& registry);
void add_tree_command(CLI::App& app);

}  // namespace modeldna::cli
