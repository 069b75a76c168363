// The one convention every subcommand follows (README "Conventions"): one
// name per thing, --json prints the machine-readable result to stdout,
// artifacts go under --out, and every error is one "modeldna: error:" line.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

namespace modeldna::cli {

/// Prints `doc` indented to stdout; invalid UTF-8 in names from model files
/// is replaced, never a reason to fail after the work is done.
void print_json(const nlohmann::json& doc);

/// `--json`: print the result as JSON to stdout instead of text.
void add_json_flag(CLI::App* cmd, bool& json, const std::string& what = "Print the result as JSON");
/// `--zoo DIR`: a zoo directory (manifest.json), required.
void add_zoo_option(CLI::App* cmd, std::string& dir);
/// `--detector DIR`: an MGMP detector directory (from `modeldna train`).
CLI::Option* add_detector_option(CLI::App* cmd, std::string& dir);

/// The one line a flag error prints ("zoo build: --out is required (see
/// `modeldna zoo build --help`)"), naming the subcommand it happened in.
std::string describe_parse_error(const CLI::App& app, const CLI::ParseError& e);

/// `--attest OUT --key KEY.pem`: also write a signed in-toto attestation of
/// the result (attest/attestation.h); the two flags go together.
struct AttestFlags {
  std::string out, key;
  bool wanted() const { return !out.empty(); }
};
void add_attest_flags(CLI::App* cmd, AttestFlags& flags);

/// A command's own non-zero exit that is no error: `audit --fail-on` found
/// what it names (exit kFindingExit, README). Thrown by a callback, turned
/// into the exit code by run_command_line after the output is printed.
inline constexpr int kFindingExit = 3;
struct FindingExit {
  int code = kFindingExit;
};

/// Parses the command line and runs the chosen subcommand, turning whatever
/// escapes into the README's exit codes: 0 on success (and for --help and
/// --version), 1 for every error the user can fix (modeldna::Error and flag
/// errors, one "modeldna: error: ..." line on `err`), 2 for a bug
/// (InternalError or any other exception, one "modeldna: internal error: ..."
/// line), or a FindingExit's code.
int run_command_line(CLI::App& app, int argc, const char* const* argv, std::FILE* err = stderr);

}  // namespace modeldna::cli
