// Shared helpers for the GoogleTest suites.
#pragma once

#include <gtest/gtest.h>

#include <string>

namespace modeldna::testing {

/// A fresh, empty directory for one test (under $MODELDNA_TEST_TMP or /tmp),
/// named after the running test.
std::string fresh_temp_dir();

/// Writes raw bytes to a file (for handcrafted broken inputs).
void write_bytes(const std::string& path, const std::string& bytes);

}  // namespace modeldna::testing

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
