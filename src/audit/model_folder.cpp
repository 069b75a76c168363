#include "modeldna/audit/model_folder.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "ascii.h"
#include "modeldna/core/error.h"
#include "modeldna/core/json_file.h"

namespace modeldna::audit {
namespace fs = std::filesystem;

namespace {

// A model card is prose with a short YAML header; hub cards run to tens of
// kilobytes. Beyond these, the file is refused rather than read.
constexpr uintmax_t kMaxCardBytes = 4ull << 20;
constexpr uintmax_t kMaxConfigBytes = 16ull << 20;
// yaml-cpp parses flow collections ("[[[...") recursively: nesting is
// bounded before the parser sees the text, so a hostile card cannot exhaust
// the stack. Real front matter nests two or three levels.
constexpr int kMaxFlowNesting = 32;

using detail::ascii_lower;

// The YAML between a leading "---" line and the next "---" (or "...") line;
// nullopt when the card does not start with one.
std::optional<std::string> front_matter(const std::string& path, const std::string& text) {
  std::size_t start = 0;
  if (text.rfind("\xEF\xBB\xBF", 0) == 0) start = 3;  // a UTF-8 byte order mark
  auto line_end = [&](std::size_t from) { return std::min(text.find('\n', from), text.size()); };
  auto line = [&](std::size_t from) {
    std::string l = text.substr(from, line_end(from) - from);
    while (!l.empty() && (l.back() == '\r' || l.back() == ' ' || l.back() == '\t')) l.pop_back();
    return l;
  };
  if (line(start) != "---") return std::nullopt;
  const std::size_t body = std::min(line_end(start) + 1, text.size());
  for (std::size_t at = body; at < text.size(); at = line_end(at) + 1) {
    const std::string l = line(at);
    if (l == "---" || l == "...") return text.substr(body, at - body);
  }
  throw FormatError(path, "the front matter opened by '---' on the first line is never closed");
}

void check_flow_nesting(const std::string& path, const std::string& yaml) {
  int depth = 0;
  for (char c : yaml) {
    if (c == '[' || c == '{') depth++;
    if (c == ']' || c == '}') depth = std::max(0, depth - 1);
    if (c == '\n') depth = 0;
    if (depth > kMaxFlowNesting)
      throw FormatError(path, "front matter nests flow collections more than " + std::to_string(kMaxFlowNesting) + " deep");
  }
}

std::string node_kind(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Null: return "nothing";
    default: return "a scalar";
  }
}

std::optional<std::string> scalar(const std::string& path, const YAML::Node& doc, const char* field) {
  const YAML::Node n = doc[field];
  if (!n || n.IsNull()) return std::nullopt;
  if (!n.IsScalar()) throw FormatError(path, std::string("'") + field + "' must be a string (found " + node_kind(n) + ")");
  return n.Scalar();
}

std::vector<std::string> strings(const std::string& path, const YAML::Node& doc, const char* field) {
  const YAML::Node n = doc[field];
  if (!n || n.IsNull()) return {};
  if (n.IsScalar()) return {n.Scalar()};
  if (!n.IsSequence())
    throw FormatError(path, std::string("'") + field + "' must be a string or a list of strings (found " + node_kind(n) + ")");
  std::vector<std::string> out;
  for (const auto& item : n) {
    if (!item.IsScalar())
      throw FormatError(path, std::string("'") + field + "' must be a string or a list of strings (an item is " +
                                  node_kind(item) + ")");
    out.push_back(item.Scalar());
  }
  return out;
}

DeclaredRelation parse_relation(const std::string& path, const std::string& value) {
  for (auto r : {DeclaredRelation::FineTune, DeclaredRelation::Adapter, DeclaredRelation::Merge, DeclaredRelation::Quantized})
    if (ascii_lower(value) == declared_relation_name(r)) return r;
  throw FormatError(path, "'base_model_relation' is '" + value + "', not one of finetune, adapter, merge, quantized");
}

std::optional<std::string> json_string(const std::string& path, const nlohmann::json& doc, const char* field) {
  const auto it = doc.find(field);
  if (it == doc.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) throw FormatError(path, std::string("'") + field + "' must be a string");
  return it->get<std::string>();
}

AdapterConfig read_adapter_config(const std::string& path) {
  const auto doc = read_json_file(path, JsonLimits{kMaxConfigBytes, 64});
  if (!doc.is_object()) throw FormatError(path, "not a JSON object");
  AdapterConfig a;
  a.base_model_name_or_path = json_string(path, doc, "base_model_name_or_path");
  if (const auto it = doc.find("target_modules"); it != doc.end() && !it->is_null()) {
    if (it->is_string()) a.target_modules = {it->get<std::string>()};
    else if (it->is_array()) {
      for (const auto& m : *it) {
        if (!m.is_string()) throw FormatError(path, "'target_modules' must be a string or a list of strings");
        a.target_modules.push_back(m.get<std::string>());
      }
    } else {
      throw FormatError(path, "'target_modules' must be a string or a list of strings");
    }
  }
  if (const auto it = doc.find("r"); it != doc.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() <= 0) throw FormatError(path, "'r' must be a positive integer");
    a.rank = it->get<int64_t>();
  }
  return a;
}

bool has_extension(const fs::path& p, const char* ext) { return ascii_lower(p.extension().string()) == ext; }

// The full-model weight files: what open_store picks for the folder first
// (a sharded index, model.safetensors, pytorch_model.bin, else the first
// other safetensors file but the adapter's), then every GGUF file.
std::vector<std::string> weight_files_of(const fs::path& folder) {
  std::vector<fs::path> entries;
  for (const auto& e : fs::directory_iterator(folder))
    if (e.is_regular_file()) entries.push_back(e.path());
  std::sort(entries.begin(), entries.end());
  std::vector<std::string> files;
  for (const char* name : {"model.safetensors.index.json", "model.safetensors", "pytorch_model.bin"})
    if (fs::is_regular_file(folder / name)) {
      files.push_back((folder / name).string());
      break;
    }
  if (files.empty())
    for (const auto& p : entries)
      if (has_extension(p, ".safetensors") && p.filename() != "adapter_model.safetensors") {
        files.push_back(p.string());
        break;
      }
  for (const auto& p : entries)
    if (has_extension(p, ".gguf")) files.push_back(p.string());
  return files;
}

}  // namespace

std::string_view declared_relation_name(DeclaredRelation r) {
  switch (r) {
    case DeclaredRelation::FineTune: return "finetune";
    case DeclaredRelation::Adapter: return "adapter";
    case DeclaredRelation::Merge: return "merge";
    case DeclaredRelation::Quantized: return "quantized";
  }
  throw InternalError("invalid DeclaredRelation");
}

ModelCard parse_model_card(const std::string& path, const std::string& text) {
  ModelCard card;
  const auto yaml = front_matter(path, text);
  if (!yaml) return card;
  check_flow_nesting(path, *yaml);
  YAML::Node doc;
  try {
    doc = YAML::Load(*yaml);
  } catch (const YAML::Exception& e) {
    throw FormatError(path, "front matter is not valid YAML (line " + std::to_string(e.mark.line + 2) + ": " + e.msg + ")");
  }
  if (doc.IsNull()) return card;
  if (!doc.IsMap()) throw FormatError(path, "front matter must be a mapping of fields (found " + node_kind(doc) + ")");
  try {
    card.base_models = strings(path, doc, "base_model");
    if (const auto r = scalar(path, doc, "base_model_relation")) card.base_model_relation = parse_relation(path, *r);
    card.license = scalar(path, doc, "license");
    card.model_name = scalar(path, doc, "model_name");
  } catch (const YAML::Exception& e) {
    throw FormatError(path, "front matter: " + e.msg);
  }
  return card;
}

std::string ModelFolder::name() const {
  if (card && card->model_name) return *card->model_name;
  if (name_or_path) return *name_or_path;
  return fs::path(path).lexically_normal().filename().string() == ""
             ? fs::path(path).lexically_normal().parent_path().filename().string()
             : fs::path(path).lexically_normal().filename().string();
}

ModelFolder read_model_folder(const std::string& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) throw FormatError(path, "not a folder (audit reads a model folder: README.md, config.json, weights)");
  const fs::path folder(path);
  ModelFolder m;
  m.path = path;
  if (const auto readme = folder / "README.md"; fs::is_regular_file(readme))
    m.card = parse_model_card(readme.string(), read_file(readme.string(), kMaxCardBytes, "a model card"));
  if (const auto config = folder / "config.json"; fs::is_regular_file(config)) {
    const auto doc = read_json_file(config.string(), JsonLimits{kMaxConfigBytes, 64});
    if (!doc.is_object()) throw FormatError(config.string(), "not a JSON object");
    m.name_or_path = json_string(config.string(), doc, "_name_or_path");
    if (const auto it = doc.find("architectures"); it != doc.end() && !it->is_null()) {
      if (!it->is_array()) throw FormatError(config.string(), "'architectures' must be a list of strings");
      for (const auto& a : *it) {
        if (!a.is_string()) throw FormatError(config.string(), "'architectures' must be a list of strings");
        m.architectures.push_back(a.get<std::string>());
      }
    }
  }
  if (const auto adapter = folder / "adapter_config.json"; fs::is_regular_file(adapter))
    m.adapter = read_adapter_config(adapter.string());
  if (const auto weights = folder / "adapter_model.safetensors"; fs::is_regular_file(weights))
    m.adapter_weights = weights.string();
  m.weight_files = weight_files_of(folder);
  return m;
}

namespace {

bool is_model_folder(const fs::path& folder) {
  for (const char* name : {"README.md", "config.json", "adapter_config.json"})
    if (fs::is_regular_file(folder / name)) return true;
  return !weight_files_of(folder).empty();
}

void collect_model_folders(const fs::path& folder, int depth, std::vector<std::string>& out) {
  if (is_model_folder(folder)) {
    out.push_back(folder.string());
    return;
  }
  if (depth >= kMaxFolderDepth) return;
  std::vector<fs::path> children;
  for (const auto& e : fs::directory_iterator(folder, fs::directory_options::skip_permission_denied))
    if (e.is_directory() && !e.is_symlink()) children.push_back(e.path());
  std::sort(children.begin(), children.end());
  for (const auto& child : children) collect_model_folders(child, depth + 1, out);
}

}  // namespace

std::vector<std::string> model_folders_under(const std::string& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) throw FormatError(root, "not a folder (audit reads a model folder: README.md, config.json, weights)");
  std::vector<std::string> out;
  collect_model_folders(fs::path(root), 0, out);
  return out;
}

bool names_match(const std::string& declared, const std::string& name) {
  const std::string a = ascii_lower(declared), b = ascii_lower(name);
  if (a.empty() || b.empty()) return false;
  auto tail = [](const std::string& s) { return s.substr(s.find_last_of('/') == std::string::npos ? 0 : s.find_last_of('/') + 1); };
  return a == b || tail(a) == tail(b);
}

}  // namespace modeldna::audit
