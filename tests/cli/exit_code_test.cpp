// The README's exit codes, pinned on the one function main() hands the
// command line to: a bug must exit 2, never pass for the user's error (1).
#include <cstdio>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cli_support.h"
#include "modeldna/core/error.h"

namespace modeldna::cli {
namespace {

struct Outcome {
  int exit_code = -1;
  std::string err;
};

// A small CLI whose subcommands each end in one kind of exception.
Outcome run(const std::vector<std::string>& words) {
  CLI::App app{"test"};
  app.require_subcommand(1);
  std::string needed;
  app.add_subcommand("ok", "")->callback([] {});
  app.add_subcommand("format", "")->callback([] { throw FormatError("model.bin", "truncated"); });
  app.add_subcommand("usage", "")->callback([] { throw UsageError("shapes differ"); });
  app.add_subcommand("bug", "")->callback([] { MDNA_ASSERT(1 + 1 == 3, "arithmetic"); });
  app.add_subcommand("stray", "")->callback([] { throw std::out_of_range("vector::at"); });
  app.add_subcommand("memory", "")->callback([] { throw std::bad_alloc(); });
  app.add_subcommand("flags", "")->add_option("--needed", needed)->required();
  std::vector<const char*> argv = {"modeldna"};
  for (const auto& w : words) argv.push_back(w.c_str());
  std::FILE* err = std::tmpfile();
  Outcome o;
  o.exit_code = run_command_line(app, static_cast<int>(argv.size()), argv.data(), err);
  std::rewind(err);
  char buf[512];
  while (std::fgets(buf, sizeof buf, err)) o.err += buf;
  std::fclose(err);
  return o;
}

TEST(ExitCode, SuccessIsZeroAndSilent) {
  const auto o = run({"ok"});
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(o.err, "");
}

TEST(ExitCode, BadInputAndMisuseAreOneWithOneLine) {
  auto o = run({"format"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.err, "modeldna: error: model.bin: truncated\n");
  o = run({"usage"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.err, "modeldna: error: shapes differ\n");
}

TEST(ExitCode, FlagErrorsAreOneNotCli11Codes) {
  auto o = run({"flags"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.err.rfind("modeldna: error: flags: ", 0), 0u) << o.err;
  o = run({"no-such-command"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.err.rfind("modeldna: error: ", 0), 0u) << o.err;
}

TEST(ExitCode, ABrokenInvariantIsTwo) {
  const auto o = run({"bug"});
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_EQ(o.err.rfind("modeldna: internal error: arithmetic", 0), 0u) << o.err;
}

TEST(ExitCode, AnyOtherExceptionIsABugTooNotTheUsersError) {
  for (const char* command : {"stray", "memory"}) {
    const auto o = run({command});
    EXPECT_EQ(o.exit_code, 2) << command;
    EXPECT_EQ(o.err.rfind("modeldna: internal error: ", 0), 0u) << o.err;
  }
}

}  // namespace
}  // namespace modeldna::cli
