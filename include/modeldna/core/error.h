// File: modeldna/core/error.h
// The one family of exceptions modeldna throws. The CLI catches them at its
// boundary, prints what() on one line and exits non-zero.
#pragma once

#include <stdexcept>
#include <string>

namespace modeldna {

/// Base of every error modeldna reports to a user.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A file that is missing, truncated, corrupt or hostile. what() reads
/// "<path>: <problem>" so the user knows which file and what is wrong.
class FormatError : public Error {
 public:
  FormatError(std::string path, std::string problem);
  const std::string& path() const { return path_; }
  const std::string& problem() const { return problem_; }

 private:
  std::string path_;
  std::string problem_;
};

/// Arguments that cannot work together (mismatched shapes, unknown names...).
class UsageError : public Error {
 public:
  using Error::Error;
};

/// A broken invariant: a bug in modeldna, never the user's input. Not an
/// Error, so no handler of bad input can swallow it; the CLI reports it as an
/// internal error with its own exit code.
class InternalError : public std::logic_error {
 public:
  explicit InternalError(const std::string& what) : std::logic_error("internal error: " + what) {}
};

}  // namespace modeldna

/// Asserts an invariant of modeldna's own code; throws InternalError.
#define MDNA_ASSERT(cond, msg)                                                 \
  do {                                                                         \
    if (!(cond)) throw ::modeldna::InternalError(std::string(msg) + " (" #cond ")"); \
  } while (0)

/// Checks a condition on outside input; throws UsageError with the message.
#define MDNA_CHECK(cond, msg)                              \
  do {                                                     \
    if (!(cond)) throw ::modeldna::UsageError(msg);        \
  } while (0)
