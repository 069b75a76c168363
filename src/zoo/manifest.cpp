#include "modeldna/zoo/manifest.h"

#include <filesystem>
#include <set>

#include "modeldna/core/error.h"
#include "modeldna/core/json_file.h"

namespace modeldna::zoo {
namespace {

// Files a manifest names must stay inside the zoo: it may come from elsewhere.
bool inside_zoo(const std::string& file) {
  return !file.empty() && file.front() != '/' && file.find("..") == std::string::npos;
}

}  // namespace

const ZooModel* Manifest::find(const std::string& id) const {
  for (const auto& m : models)
    if (m.id == id) return &m;
  return nullptr;
}

const ZooModel& Manifest::at(const std::string& id) const {
  if (const auto* m = find(id)) return *m;
  throw UsageError("no model '" + id + "' in the zoo manifest");
}

std::vector<const ZooModel*> Manifest::sources() const {
  std::vector<const ZooModel*> out;
  for (const auto& m : models)
    if (m.relation == Derivation::Source) out.push_back(&m);
  return out;
}

namespace {
constexpr std::pair<Derivation, std::string_view> kRelationNames[] = {
    {Derivation::Source, "source"},
    {Derivation::Finetune, "finetune"},
    {Derivation::FinetuneLastK, "finetune-last-k"},
    {Derivation::PretrainFinetune, "pretrain-finetune"},
    {Derivation::Scratch, "scratch"},
    {Derivation::ReplaceLastK, "replace-last-k"},
    {Derivation::RandomReplace3, "random-replace-3"},
    {Derivation::Pruned, "pruned"},
    {Derivation::Quantized, "quantized"},
    {Derivation::Distilled, "distilled"},
};
}  // namespace

std::string_view derivation_name(Derivation relation) {
  for (const auto& [r, name] : kRelationNames)
    if (r == relation) return name;
  throw InternalError("a zoo relation without a name");
}

std::optional<Derivation> parse_derivation(std::string_view name) {
  for (const auto& [r, n] : kRelationNames)
    if (n == name) return r;
  return std::nullopt;
}

std::string derivation_label(const ZooModel& m) {
  const std::string name(derivation_name(m.relation));
  if (m.relation == Derivation::FinetuneLastK || m.relation == Derivation::ReplaceLastK)
    return name.substr(0, name.size() - 1) + std::to_string(m.k);
  return name;
}

nlohmann::json to_json(const Manifest& manifest) {
  nlohmann::json models = nlohmann::json::array();
  for (const auto& m : manifest.models) {
    models.push_back({{"id", m.id}, {"file", m.file}, {"arch", m.arch},
                      {"parent", m.parent ? nlohmann::json(*m.parent) : nlohmann::json(nullptr)},
                      {"root", m.root}, {"relation", std::string(derivation_name(m.relation))}, {"k", m.k}, {"task", m.task},
                      {"split", m.split}, {"recipe", m.recipe}, {"seed", m.seed},
                      {"train_examples", m.train_examples}, {"test_accuracy", m.test_accuracy},
                      {"parameters", m.parameters}, {"train_seconds", m.train_seconds},
                      {"built_from", m.built_from}, {"file_sha256", m.file_sha256}});
  }
  nlohmann::json doc = {{"format", "modeldna-zoo"}, {"version", manifest.version}, {"preset", manifest.preset}, {"zoo_seed", manifest.zoo_seed},
          {"modality", std::string(data::modality_name(manifest.modality))}, {"train_tasks", manifest.train_tasks}, {"test_tasks", manifest.test_tasks},
          {"train_sources", manifest.train_sources}, {"heldout_sources", manifest.heldout_sources},
          {"models", models}};
  if (manifest.modality == data::Modality::Text) {
    doc["tokenizer"] = manifest.tokenizer;
    doc["seq_len"] = manifest.seq_len;
  }
  return doc;
}

Manifest manifest_from_json(const nlohmann::json& doc, const std::string& path) {
  Manifest out;
  try {
    if (doc.value("format", "") != "modeldna-zoo") throw FormatError(path, "not a modeldna zoo manifest");
    out.version = doc.at("version").get<int>();
    if (out.version != kManifestVersion)
      throw FormatError(path, "manifest version " + std::to_string(out.version) + " is not supported");
    out.preset = doc.at("preset").get<std::string>();
    out.zoo_seed = doc.value("zoo_seed", uint64_t{0});
    const std::string modality = doc.value("modality", "image");
    const auto known = data::parse_modality(modality);
    if (!known) throw FormatError(path, "modality must be image or text, not '" + modality + "'");
    out.modality = *known;
    if (out.modality == data::Modality::Text) {
      out.tokenizer = doc.at("tokenizer").get<std::string>();
      out.seq_len = doc.at("seq_len").get<int64_t>();
      if (!inside_zoo(out.tokenizer)) throw FormatError(path, "tokenizer must be a path inside the zoo");
      if (out.seq_len < 2 || out.seq_len > 4096) throw FormatError(path, "seq_len out of range");
    }
    out.train_tasks = doc.at("train_tasks").get<std::vector<std::string>>();
    out.test_tasks = doc.at("test_tasks").get<std::vector<std::string>>();
    out.train_sources = doc.at("train_sources").get<std::vector<std::string>>();
    out.heldout_sources = doc.at("heldout_sources").get<std::vector<std::string>>();
    std::set<std::string> ids;
    for (const auto& j : doc.at("models")) {
      ZooModel m;
      m.id = j.at("id").get<std::string>();
      if (!ids.insert(m.id).second) throw FormatError(path, "duplicate model id '" + m.id + "'");
      m.file = j.at("file").get<std::string>();
      if (!inside_zoo(m.file))
        throw FormatError(path, "model '" + m.id + "': file must be a path inside the zoo");
      m.arch = j.at("arch");
      if (!j.at("parent").is_null()) m.parent = j.at("parent").get<std::string>();
      m.root = j.at("root").get<std::string>();
      const auto relation = j.at("relation").get<std::string>();
      const auto parsed = parse_derivation(relation);
      if (!parsed) throw FormatError(path, "model '" + m.id + "': unknown relation '" + relation + "'");
      m.relation = *parsed;
      m.k = j.at("k").get<int64_t>();
      m.task = j.at("task").get<std::string>();
      m.split = j.at("split").get<std::string>();
      m.recipe = j.at("recipe");
      m.seed = j.at("seed").get<uint64_t>();
      m.train_examples = j.at("train_examples").get<int64_t>();
      m.test_accuracy = j.at("test_accuracy").get<double>();
      m.parameters = j.at("parameters").get<int64_t>();
      m.train_seconds = j.at("train_seconds").get<double>();
      m.built_from = j.value("built_from", nlohmann::json::object());
      if (!m.built_from.is_object()) throw FormatError(path, "model '" + m.id + "': built_from must be an object");
      m.file_sha256 = j.value("file_sha256", "");
      out.models.push_back(std::move(m));
    }
    for (const auto& m : out.models)
      if (m.parent && !ids.count(*m.parent))
        throw FormatError(path, "model '" + m.id + "' names unknown parent '" + *m.parent + "'");
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path, std::string("malformed manifest: ") + e.what());
  }
  return out;
}

std::string manifest_path(const std::string& zoo_dir) {
  return (std::filesystem::path(zoo_dir) / "manifest.json").string();
}

Manifest load_manifest(const std::string& zoo_dir) {
  const std::string path = manifest_path(zoo_dir);
  return manifest_from_json(read_json_file(path), path);
}

void save_manifest(const std::string& zoo_dir, const Manifest& manifest) {
  write_json_file(manifest_path(zoo_dir), to_json(manifest));
}

}  // namespace modeldna::zoo
