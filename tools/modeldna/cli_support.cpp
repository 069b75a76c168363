#include "cli_support.h"

#include <cstdio>
#include <exception>

#include "modeldna/core/error.h"

namespace modeldna::cli {

void print_json(const nlohmann::json& doc) {
  std::printf("%s\n", doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
}

void add_json_flag(CLI::App* cmd, bool& json, const std::string& what) { cmd->add_flag("--json", json, what); }

void add_zoo_option(CLI::App* cmd, std::string& dir) {
  cmd->add_option("--zoo", dir, "Zoo directory (manifest.json)")->required();
}

CLI::Option* add_detector_option(CLI::App* cmd, std::string& dir) {
  return cmd->add_option("--detector", dir, "MGMP detector directory (from `modeldna train`)");
}

std::string describe_parse_error(const CLI::App& app, const CLI::ParseError& e) {
  // The deepest subcommand reached before the error is where it happened.
  std::string path;
  const CLI::App* at = &app;
  while (!at->get_subcommands().empty()) {
    at = at->get_subcommands().front();
    path += (path.empty() ? "" : " ") + at->get_name();
  }
  std::string what = e.what();
  if (!what.empty() && what.back() == '\n') what.pop_back();
  // CLI11 calls an unknown command "a subcommand is required": say what it is.
  const auto left = at->remaining();
  if (dynamic_cast<const CLI::RequiredError*>(&e) && !at->get_subcommands({}).empty() && !left.empty())
    what = "unknown command '" + left.front() + "'";
  return (path.empty() ? "" : path + ": ") + what + " (see `modeldna" + (path.empty() ? "" : " " + path) + " --help`)";
}

void add_attest_flags(CLI::App* cmd, AttestFlags& flags) {
  auto* out = cmd->add_option("--attest", flags.out,
                              "Also write a signed in-toto attestation of the result here (DSSE envelope, docs/spec/attestation-v1.md)");
  auto* key = cmd->add_option("--key", flags.key, "The Ed25519 private key (PEM) that signs --attest")->check(CLI::ExistingFile);
  out->needs(key);
  key->needs(out);
}

int run_command_line(CLI::App& app, int argc, const char* const* argv, std::FILE* err) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with exit code 0 to CLI11.
    if (e.get_exit_code() == 0) return app.exit(e);
    // Flag errors are usage errors like any other: one line, exit 1.
    std::fprintf(err, "modeldna: error: %s\n", describe_parse_error(app, e).c_str());
    return 1;
  } catch (const FindingExit& e) {
    return e.code;
  } catch (const Error& e) {
    std::fprintf(err, "modeldna: error: %s\n", e.what());
    return 1;
  } catch (const InternalError& e) {
    std::fprintf(err, "modeldna: %s\n", e.what());  // what() starts "internal error: "
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(err, "modeldna: internal error: %s\n", e.what());
    return 2;
  }
  return 0;
}

}  // namespace modeldna::cli
