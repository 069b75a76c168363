// File: modeldna/core/json_file.h
// Reading and writing JSON documents on disk, with errors that name the file.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace modeldna {

/// Parses the JSON file at `path`; throws FormatError if missing or invalid.
nlohmann::json read_json_file(const std::string& path);

/// Writes `doc` (indented) atomically: a temporary file renamed over `path`,
/// so a crash never leaves a half-written file behind.
void write_json_file(const std::string& path, const nlohmann::json& doc);

/// Writes `bytes` to `path` atomically (temporary file + rename).
void write_file_atomically(const std::string& path, const std::string& bytes);

/// Reads a whole file; throws FormatError if it cannot be read.
std::string read_file(const std::string& path);

}  // namespace modeldna
