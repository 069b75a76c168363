// The commands that train or run networks, and so live in modeldna-lab
// (runtime.h). modeldna lists them in its --help under the same
// descriptions and hands them over; modeldna-lab defines them.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace modeldna::cli {

/// The one-line description of lab command `name` (zoo, tasks, archs,
/// train, dna, verify, eval, bench); InternalError for another name.
const char* lab_command_description(const std::string& name);

/// In modeldna: a subcommand `name` that takes any arguments (--help too)
/// and continues as modeldna-lab with the whole command line.
void add_lab_placeholder(CLI::App& app, const std::string& name);

}  // namespace modeldna::cli
