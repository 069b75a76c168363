// File: modeldna/core/json_file.h
// Reading and writing JSON documents on disk, with errors that name the file.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <string_view>

namespace modeldna {

/// Bounds for JSON read from outside: every file a user hands us (manifests,
/// detector files, model manifests) is read through them.
struct JsonLimits {
  uintmax_t max_bytes = 64ull << 20;  // the file
  int max_depth = 64;                 // nesting of objects and arrays
};

/// Parses the JSON file at `path` within `limits`; FormatError if missing,
/// too large, too deep, invalid, or holding a duplicate key in any object
/// (nlohmann would silently keep the last one).
nlohmann::json read_json_file(const std::string& path, const JsonLimits& limits = {});
/// The same checks on text already in memory; `path` names it in errors.
nlohmann::json parse_json(const std::string& path, std::string_view text, const JsonLimits& limits = {});

/// Writes `doc` (indented) atomically: a temporary file renamed over `path`,
/// so a crash never leaves a half-written file behind.
void write_json_file(const std::string& path, const nlohmann::json& doc);

/// Writes `bytes` to `path` atomically (temporary file + rename).
void write_file_atomically(const std::string& path, const std::string& bytes);

/// Streams into `path` atomically: `write` fills a temporary file that is
/// renamed over `path` only if every write succeeded (large files need no copy).
void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write);

/// Creates the folder `dir` and its parents (nothing if it exists); a folder
/// that cannot be made (a file in the way, no permission) is a UsageError
/// naming it, not a filesystem_error that would read as a bug.
void make_directories(const std::string& dir);

/// Reads a whole file; throws FormatError if it cannot be read.
std::string read_file(const std::string& path);

/// Reads a whole file of at most `max_bytes` (an untrusted file must not
/// exhaust memory); FormatError "file is N bytes, more than the M-byte limit
/// for <what>" beyond that, or if it cannot be read.
std::string read_file(const std::string& path, uintmax_t max_bytes, const std::string& what);

}  // namespace modeldna
