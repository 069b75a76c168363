#include "modeldna/audit/audit.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>

#include "ascii.h"
#include "paths.h"
#include "modeldna/core/enum_names.h"
#include "modeldna/core/error.h"
#include "modeldna/io/open_store.h"
#include "modeldna/registry/find_file.h"

namespace modeldna::audit {
namespace fs = std::filesystem;

namespace {

using detail::ascii_lower;
using detail::canonical;

std::string file_name(const std::string& path) { return fs::path(path).filename().string(); }

// A model a declared base may name: a folder or a weight file.
struct BaseModel {
  std::string name;
  std::string path;     // as given
  std::string weights;  // what compare opens ("" when the folder holds none)
  std::optional<std::string> license;
};

// What compare opens for a weight file: a sharded index stands for its folder.
std::string openable(const std::string& weight_file) {
  return file_name(weight_file) == "model.safetensors.index.json" ? fs::path(weight_file).parent_path().string() : weight_file;
}

BaseModel base_model(const std::string& path) {
  BaseModel b;
  b.path = path;
  if (fs::is_directory(path)) {
    const auto folder = read_model_folder(path);
    b.name = folder.name();
    b.weights = folder.weight_files.empty() ? "" : openable(folder.weight_files.front());
    if (folder.card) b.license = folder.card->license;
    return b;
  }
  if (!fs::is_regular_file(path)) throw FormatError(path, "a base model given is no file or folder");
  b.name = fs::path(path).stem().string();
  b.weights = path;
  return b;
}

// A registered model as a base: its file, when it is still readable here.
BaseModel registered_base(const registry::ModelRecord& m) {
  BaseModel b;
  b.name = m.name;
  b.path = m.path;
  std::error_code ec;
  if (!fs::exists(m.path, ec)) return b;
  b.weights = m.path;
  // A registered folder, or the weight file of one: its card's license.
  const fs::path folder = fs::is_directory(m.path, ec) ? fs::path(m.path) : fs::path(m.path).parent_path();
  if (fs::is_regular_file(folder / "README.md", ec)) {
    const auto card = read_model_folder(folder.string()).card;
    if (card) b.license = card->license;
  }
  return b;
}

// find's test of a registered model, as audit's evidence.
Evidence from_find(const registry::Candidate& c, const std::string& target) {
  Evidence e;
  e.source = c.model.path;
  e.target = target;
  e.verdict = c.significant ? compare::Verdict::Derived : compare::Verdict::Independent;
  e.log10_p = c.log10_p_adjusted;
  e.relation = c.significant ? c.relation : compare::Relation::None;
  e.layers = c.layers_tested;
  e.layers_from_source = c.layers_derived;
  return e;
}

Evidence summarise(const compare::CompareResult& r) {
  Evidence e;
  e.source = r.source_path;
  e.target = r.target_path;
  e.verdict = r.verdict;
  e.log10_p = r.log10_p;
  e.relation = r.relation;
  for (const auto& l : r.layers) {
    ++e.layers;
    e.layers_from_source += l.verdict != compare::LayerVerdict::New;
  }
  return e;
}

std::string evidence_text(const Evidence& e) {
  return std::string(compare::verdict_name(e.verdict)) + ", p = " + compare::p_value_text(e.log10_p) + ", " +
         std::string(compare::relation_name(e.relation)) + ", " + std::to_string(e.layers_from_source) + " of " +
         std::to_string(e.layers) + " layers from it";
}

// "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight" ->
// {"model.layers.0.self_attn.q_proj.weight", 'A'}; nullopt for other names.
std::optional<std::pair<std::string, char>> lora_target(const std::string& name) {
  for (const char which : {'A', 'B'}) {
    const std::string suffix = std::string(".lora_") + which + ".weight";
    if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    std::string module = name.substr(0, name.size() - suffix.size());
    const std::string peft_prefix = "base_model.model.";
    if (module.rfind(peft_prefix, 0) == 0) module = module.substr(peft_prefix.size());
    return std::make_pair(module + ".weight", which);
  }
  return std::nullopt;
}

// Whether a PEFT adapter fits a base: every lora_A is [r, in] and every
// lora_B [out, r] of the base tensor [out, in] it adapts, and every target
// module names tensors of the base. The reason says what does not fit.
std::pair<bool, std::string> adapter_fits(const ModelFolder& folder, const io::TensorStore& base) {
  const auto adapter = io::open_store(*folder.adapter_weights);
  const int64_t rank = folder.adapter->rank;
  int64_t checked = 0;
  for (const auto& t : adapter.tensors()) {
    const auto target = lora_target(t.name);
    if (!target) continue;
    const io::TensorInfo* adapted = base.find(target->first);
    if (!adapted) return {false, "adapter tensor '" + t.name + "' adapts '" + target->first + "', which the base does not have"};
    if (adapted->shape.size() != 2 || t.shape.size() != 2)
      return {false, "adapter tensor '" + t.name + "' or its base tensor is not a matrix"};
    const int64_t out = adapted->shape[0], in = adapted->shape[1];
    const bool a = target->second == 'A';
    const std::vector<int64_t> expected = a ? std::vector<int64_t>{rank > 0 ? rank : t.shape[0], in}
                                            : std::vector<int64_t>{out, rank > 0 ? rank : t.shape[1]};
    if (t.shape != expected)
      return {false, "adapter tensor '" + t.name + "' is [" + std::to_string(t.shape[0]) + ", " + std::to_string(t.shape[1]) +
                         "], the base's '" + target->first + "' [" + std::to_string(out) + ", " + std::to_string(in) +
                         "] needs [" + std::to_string(expected[0]) + ", " + std::to_string(expected[1]) + "] at rank " +
                         std::to_string(rank)};
    ++checked;
  }
  if (checked == 0) return {false, "the adapter holds no lora_A / lora_B tensors"};
  for (const auto& module : folder.adapter->target_modules) {
    const bool present = std::any_of(base.tensors().begin(), base.tensors().end(), [&](const io::TensorInfo& t) {
      return t.name.find("." + module + ".weight") != std::string::npos;
    });
    if (!present) return {false, "target module '" + module + "' names no tensor of the base"};
  }
  return {true, std::to_string(checked) + " low-rank factors fit the base's tensors at rank " + std::to_string(rank)};
}

// The relation a declared base_model_relation expects, checked against what
// compare found for the confirmed bases.
RelationCheck check_relation(const ModelFolder& folder, const std::vector<BaseCheck>& bases) {
  RelationCheck c;
  if (!folder.card || !folder.card->base_model_relation) return c;
  c.declared = folder.card->base_model_relation;
  const bool has_adapter = folder.adapter.has_value() && folder.adapter_weights.has_value();
  std::vector<const Evidence*> confirmed;
  for (const auto& b : bases)
    if (b.finding == Finding::Confirmed && b.evidence) confirmed.push_back(&*b.evidence);
  auto copy_kind = [](compare::Relation r) {
    return r == compare::Relation::Identical || r == compare::Relation::Converted || r == compare::Relation::Quantized;
  };
  switch (*c.declared) {
    case DeclaredRelation::Adapter:
      if (!has_adapter) {
        c.contradicted = true;
        c.reason = folder.weight_files.empty() ? "declares an adapter; the folder holds no adapter_config.json and adapter weights"
                                               : "declares an adapter; the folder holds full weights (" +
                                                     file_name(folder.weight_files.front()) + "), no adapter";
      }
      break;
    case DeclaredRelation::Quantized:
      for (const auto* e : confirmed)
        if (!copy_kind(e->relation)) {
          c.contradicted = true;
          c.reason = "declares a quantized copy; the weights are " + std::string(compare::relation_name(e->relation)) + " from " + e->source;
        }
      break;
    case DeclaredRelation::FineTune:
      for (const auto* e : confirmed)
        if (copy_kind(e->relation)) {
          c.contradicted = true;
          c.reason = "declares a fine-tune; the weights are " + std::string(compare::relation_name(e->relation)) +
                     " from " + e->source + " (no training changed them)";
        }
      break;
    case DeclaredRelation::Merge:
      if (folder.card->base_models.size() < 2) {
        c.contradicted = true;
        c.reason = "declares a merge of " + std::to_string(folder.card->base_models.size()) + " base model(s); a merge has two or more";
      }
      break;
  }
  return c;
}

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

std::string_view finding_name(Finding f) {
  switch (f) {
    case Finding::Confirmed: return "confirmed";
    case Finding::Contradicted: return "contradicted";
    case Finding::Unverifiable: return "unverifiable";
  }
  throw InternalError("invalid Finding");
}

LicenseClass classify_license(const std::string& id) {
  // Identifiers as the Hugging Face hub spells them (SPDX, lower case, plus
  // its own for model licenses). Restrictive: copyleft, non-commercial,
  // no-derivatives, and the use-restricted model licenses.
  static const std::vector<std::string> permissive = {"mit", "apache-2.0", "bsd", "bsd-2-clause", "bsd-3-clause",
                                                      "bsd-3-clause-clear", "isc", "cc0-1.0", "cc-by-2.0", "cc-by-3.0",
                                                      "cc-by-4.0", "unlicense", "wtfpl", "zlib", "bsl-1.0", "postgresql",
                                                      "pddl", "odc-by", "mpl-2.0", "artistic-2.0", "ecl-2.0", "afl-3.0"};
  const std::string l = ascii_lower(id);
  if (std::find(permissive.begin(), permissive.end(), l) != permissive.end()) return LicenseClass::Permissive;
  for (const char* prefix : {"gpl", "agpl", "lgpl", "cc-by-nc", "cc-by-sa", "cc-by-nd", "llama", "gemma", "openrail",
                             "creativeml-openrail", "bigscience", "bigcode-openrail", "deepfloyd", "apple-ascl", "c-uda",
                             "cc-by-nc-sa", "gfdl", "osl", "eupl", "intel-research", "lgpl-lr"})
    if (starts_with(l, prefix)) return LicenseClass::Restrictive;
  return LicenseClass::Unknown;
}

std::string_view license_class_name(LicenseClass c) {
  switch (c) {
    case LicenseClass::Permissive: return "permissive";
    case LicenseClass::Restrictive: return "restrictive";
    case LicenseClass::Unknown: return "unknown";
  }
  throw InternalError("invalid LicenseClass");
}

AuditResult audit_folder(const std::string& path, const AuditOptions& options, compare::Behaviour* behaviour) {
  const ModelFolder folder = read_model_folder(path);
  AuditResult r;
  r.folder = path;
  r.name = folder.name();
  if (folder.card) r.declared = *folder.card;
  r.architectures = folder.architectures;
  for (const auto& w : folder.weight_files) r.weights.push_back({w, io::file_sha256(w)});
  if (folder.adapter_weights) r.weights.push_back({*folder.adapter_weights, io::file_sha256(*folder.adapter_weights)});
  if (!folder.card) r.notes.push_back("no model card (README.md): audited on its weights alone");
  if (folder.adapter && !folder.adapter_weights) r.notes.push_back("adapter_config.json without adapter_model.safetensors");

  const std::string target = folder.weight_files.empty() ? "" : openable(folder.weight_files.front());
  // A folder's weight files must be one model: conversions or quantizations
  // of the first. Anything else is two models under one name.
  for (std::size_t k = 1; k < folder.weight_files.size(); ++k) {
    const auto other = compare::compare_files(target, folder.weight_files[k], options.compare, behaviour);
    const bool same_model = other.verdict == compare::Verdict::Derived &&
                            (other.relation == compare::Relation::Identical || other.relation == compare::Relation::Converted ||
                             other.relation == compare::Relation::Quantized);
    if (!same_model)
      throw FormatError(path, "weight files disagree: " + file_name(folder.weight_files[k]) + " is not a conversion of " +
                                  file_name(folder.weight_files.front()) + " (compare: " +
                                  std::string(compare::verdict_name(other.verdict)) + ", " +
                                  std::string(compare::relation_name(other.relation)) + ")");
  }

  std::vector<BaseModel> candidates;
  for (const auto& b : options.bases) candidates.push_back(base_model(b));
  std::vector<std::string> declared = r.declared.base_models;
  if (declared.empty() && folder.adapter && folder.adapter->base_model_name_or_path)
    declared.push_back(*folder.adapter->base_model_name_or_path);

  std::map<std::string, Evidence> compared;  // by base path: each base compared once
  auto compare_with = [&](const BaseModel& b) -> const Evidence& {
    auto it = compared.find(b.path);
    if (it == compared.end())
      it = compared.emplace(b.path, summarise(compare::compare_files(b.weights, target, options.compare, behaviour))).first;
    return it->second;
  };
  // The registry's view: the parent find names, and every registered model
  // it tested (a declared base among them needs no second comparison).
  std::optional<registry::FindResult> found;
  if (options.registry && !target.empty()) {
    registry::StoreFingerprinter weights_only;
    found = registry::find_file(*options.registry, target, options.find,
                                options.fingerprinter ? *options.fingerprinter : weights_only);
  }
  // Declared names the --base models do not carry, looked up in the registry.
  for (const auto& value : declared) {
    const bool given = std::any_of(candidates.begin(), candidates.end(), [&](const BaseModel& b) { return names_match(value, b.name); });
    if (given || !options.registry) continue;
    auto registered = options.registry->named(value);
    if (registered.empty() && value.find('/') != std::string::npos) registered = options.registry->named(value.substr(value.rfind('/') + 1));
    if (!registered.empty()) candidates.push_back(registered_base(registered.front()));
  }
  const std::size_t given_bases = options.bases.size();
  std::vector<bool> named(candidates.size(), false);
  for (const auto& value : declared) {
    BaseCheck check;
    check.declared = value;
    const auto it = std::find_if(candidates.begin(), candidates.end(), [&](const BaseModel& b) { return names_match(value, b.name); });
    if (it == candidates.end()) {
      check.reason = options.registry ? "neither among the base models given nor named so in the registry"
                     : given_bases == 0 ? "no base models given to verify it against"
                                        : "not among the base models given";
      r.bases.push_back(check);
      continue;
    }
    named[static_cast<std::size_t>(it - candidates.begin())] = true;
    check.resolved = it->path;
    const registry::Candidate* tested_by_find = nullptr;
    if (found)
      for (const auto& c : found->candidates)
        if (canonical(c.model.path) == canonical(it->path)) tested_by_find = &c;
    if (it->weights.empty() && tested_by_find && !target.empty()) {
      // The registered file is gone: find's test of its stored sketch, corrected for the registry's size.
      check.evidence = from_find(*tested_by_find, target);
      check.finding = check.evidence->verdict == compare::Verdict::Derived ? Finding::Confirmed : Finding::Contradicted;
      check.reason = evidence_text(*check.evidence) + " (the registry's sketch; its file is not readable here)";
    } else if (it->weights.empty()) {
      check.reason = "the base " + it->path + " holds no weights (or is no longer readable here)";
    } else if (folder.adapter && folder.adapter_weights) {
      const auto [fits, why] = adapter_fits(folder, io::open_store(it->weights));
      check.finding = fits ? Finding::Confirmed : Finding::Contradicted;
      check.reason = "adapter: " + why;
    } else if (target.empty()) {
      check.reason = "the folder holds no weights to compare";
    } else {
      check.evidence = compare_with(*it);
      check.finding = check.evidence->verdict == compare::Verdict::Derived       ? Finding::Confirmed
                      : check.evidence->verdict == compare::Verdict::Independent ? Finding::Contradicted
                                                                                 : Finding::Unverifiable;
      check.reason = evidence_text(*check.evidence);
    }
    r.bases.push_back(check);
  }
  // Bases given but not declared: a parent the folder does not name.
  if (!target.empty())
    for (std::size_t k = 0; k < candidates.size(); ++k) {
      if (named[k] || candidates[k].weights.empty()) continue;
      const auto& e = compare_with(candidates[k]);
      if (e.verdict == compare::Verdict::Derived) r.undeclared.push_back({candidates[k].name, candidates[k].path, e});
    }
  // The registry's parent, when the folder does not declare it.
  if (found && found->parent) {
    const auto& parent = found->parent->model;
    const bool declared_parent = std::any_of(r.bases.begin(), r.bases.end(), [&](const BaseCheck& b) {
      return b.resolved && canonical(*b.resolved) == canonical(parent.path);
    });
    const bool listed = std::any_of(r.undeclared.begin(), r.undeclared.end(),
                                    [&](const UndeclaredParent& u) { return canonical(u.path) == canonical(parent.path); });
    if (!declared_parent && !listed) {
      // Its file, when still readable, gives compare's full evidence (the
      // relation from every tensor, not from the sketch).
      const BaseModel b = registered_base(parent);
      const Evidence e = b.weights.empty() ? from_find(*found->parent, target) : compare_with(b);
      if (e.verdict == compare::Verdict::Derived) {
        const bool unresolved_declared = std::any_of(r.bases.begin(), r.bases.end(), [](const BaseCheck& c) { return !c.resolved; });
        r.undeclared.push_back({parent.name.empty() ? parent.path : parent.name, parent.path, e, unresolved_declared});
        candidates.push_back(b);
      }
    }
  }
  for (auto& b : r.bases)
    if (b.finding == Finding::Contradicted && !r.undeclared.empty() && b.evidence)
      b.reason += "; the weights derive from " + r.undeclared.front().name + " instead";

  r.relation = check_relation(folder, r.bases);
  r.license.license = r.declared.license;
  for (const auto& b : r.bases)
    if (b.finding == Finding::Confirmed && b.resolved) {
      const auto it = std::find_if(candidates.begin(), candidates.end(), [&](const BaseModel& c) { return c.path == *b.resolved; });
      r.license.ancestors.push_back({it->name, it->license});
    }
  for (const auto& u : r.undeclared) {
    const auto it = std::find_if(candidates.begin(), candidates.end(), [&](const BaseModel& c) { return c.path == u.path; });
    r.license.ancestors.push_back({u.name, it->license});
  }
  if (r.license.license && classify_license(*r.license.license) == LicenseClass::Permissive)
    for (const auto& a : r.license.ancestors)
      if (a.license && classify_license(*a.license) == LicenseClass::Restrictive) r.license.permissive_over_restrictive = true;
  return r;
}

std::optional<FailOn> parse_fail_on(std::string_view name) {
  if (name == "contradicted") return FailOn::Contradicted;
  if (name == "unverifiable") return FailOn::Unverifiable;
  if (name == "undeclared") return FailOn::Undeclared;
  return std::nullopt;
}

bool fails(const AuditResult& r, FailOn condition) {
  auto any = [&](Finding f) { return std::any_of(r.bases.begin(), r.bases.end(), [&](const BaseCheck& b) { return b.finding == f; }); };
  switch (condition) {
    case FailOn::Contradicted: return any(Finding::Contradicted) || r.relation.contradicted;
    case FailOn::Unverifiable: return any(Finding::Unverifiable);
    case FailOn::Undeclared:
      return std::any_of(r.undeclared.begin(), r.undeclared.end(), [](const UndeclaredParent& u) { return !u.may_be_ancestor_of_declared; });
  }
  throw InternalError("invalid FailOn");
}

namespace {

nlohmann::json evidence_json(const Evidence& e) {
  return {{"source", e.source},
          {"target", e.target},
          {"verdict", compare::verdict_name(e.verdict)},
          {"log10_p", e.log10_p},
          {"relation", compare::relation_name(e.relation)},
          {"layers", e.layers},
          {"layers_from_source", e.layers_from_source}};
}

nlohmann::json optional_text(const std::optional<std::string>& s) { return s ? nlohmann::json(*s) : nlohmann::json(nullptr); }

}  // namespace

nlohmann::json to_json(const AuditResult& r) {
  nlohmann::json bases = nlohmann::json::array();
  for (const auto& b : r.bases) {
    nlohmann::json j = {{"declared", b.declared}, {"finding", finding_name(b.finding)}, {"resolved", optional_text(b.resolved)},
                        {"reason", b.reason}};
    j["evidence"] = b.evidence ? evidence_json(*b.evidence) : nlohmann::json(nullptr);
    bases.push_back(j);
  }
  nlohmann::json undeclared = nlohmann::json::array();
  for (const auto& u : r.undeclared)
    undeclared.push_back({{"name", u.name},
                          {"path", u.path},
                          {"may_be_ancestor_of_declared", u.may_be_ancestor_of_declared},
                          {"evidence", evidence_json(u.evidence)}});
  nlohmann::json weights = nlohmann::json::array();
  for (const auto& w : r.weights) weights.push_back({{"path", w.path}, {"sha256", w.sha256}});
  nlohmann::json ancestors = nlohmann::json::array();
  for (const auto& a : r.license.ancestors)
    ancestors.push_back({{"name", a.name},
                         {"license", optional_text(a.license)},
                         {"class", license_class_name(a.license ? classify_license(*a.license) : LicenseClass::Unknown)}});
  return {{"format", "modeldna-audit"},
          {"version", kAuditFormatVersion},
          {"folder", r.folder},
          {"name", r.name},
          {"declared",
           {{"base_model", r.declared.base_models},
            {"base_model_relation", r.declared.base_model_relation
                                        ? nlohmann::json(declared_relation_name(*r.declared.base_model_relation))
                                        : nlohmann::json(nullptr)},
            {"license", optional_text(r.declared.license)},
            {"model_name", optional_text(r.declared.model_name)}}},
          {"architectures", r.architectures},
          {"weights", weights},
          {"bases", bases},
          {"undeclared_parents", undeclared},
          {"relation",
           {{"declared", r.relation.declared ? nlohmann::json(declared_relation_name(*r.relation.declared)) : nlohmann::json(nullptr)},
            {"contradicted", r.relation.contradicted},
            {"reason", r.relation.reason}}},
          {"license",
           {{"license", optional_text(r.license.license)},
            {"class", license_class_name(r.license.license ? classify_license(*r.license.license) : LicenseClass::Unknown)},
            {"ancestors", ancestors},
            {"permissive_over_restrictive", r.license.permissive_over_restrictive}}},
          {"notes", r.notes}};
}

namespace {

// What audit_result_from_json reads: the names to_json printed.
template <typename Enum>
Enum named(const nlohmann::json& j, std::string_view (*name_of)(Enum), Enum last) {
  const auto value = enum_named(j.get<std::string>(), name_of, last);
  if (!value) throw std::invalid_argument("unknown value '" + j.get<std::string>() + "'");
  return *value;
}

std::optional<std::string> optional_text_from(const nlohmann::json& j) {
  return j.is_null() ? std::nullopt : std::optional<std::string>(j.get<std::string>());
}

Evidence evidence_from(const nlohmann::json& j) {
  Evidence e;
  e.source = j.at("source").get<std::string>();
  e.target = j.at("target").get<std::string>();
  e.verdict = named(j.at("verdict"), compare::verdict_name, compare::Verdict::Inconclusive);
  e.log10_p = j.at("log10_p").get<double>();
  e.relation = named(j.at("relation"), compare::relation_name, compare::Relation::None);
  e.layers = j.at("layers").get<int64_t>();
  e.layers_from_source = j.at("layers_from_source").get<int64_t>();
  return e;
}

std::optional<DeclaredRelation> declared_relation_from(const nlohmann::json& j) {
  if (j.is_null()) return std::nullopt;
  return named(j, declared_relation_name, DeclaredRelation::Quantized);
}

}  // namespace

AuditResult audit_result_from_json(const nlohmann::json& j, const std::string& where) {
  try {
    if (j.at("format") != "modeldna-audit" || j.at("version") != kAuditFormatVersion)
      throw std::invalid_argument("not a modeldna audit result of version " + std::to_string(kAuditFormatVersion));
    AuditResult r;
    r.folder = j.at("folder").get<std::string>();
    r.name = j.at("name").get<std::string>();
    const auto& d = j.at("declared");
    r.declared.base_models = d.at("base_model").get<std::vector<std::string>>();
    r.declared.base_model_relation = declared_relation_from(d.at("base_model_relation"));
    r.declared.license = optional_text_from(d.at("license"));
    r.declared.model_name = optional_text_from(d.at("model_name"));
    r.architectures = j.at("architectures").get<std::vector<std::string>>();
    for (const auto& w : j.at("weights")) r.weights.push_back({w.at("path").get<std::string>(), w.at("sha256").get<std::string>()});
    for (const auto& b : j.at("bases")) {
      BaseCheck c;
      c.declared = b.at("declared").get<std::string>();
      c.finding = named(b.at("finding"), finding_name, Finding::Unverifiable);
      c.resolved = optional_text_from(b.at("resolved"));
      if (!b.at("evidence").is_null()) c.evidence = evidence_from(b.at("evidence"));
      c.reason = b.at("reason").get<std::string>();
      r.bases.push_back(std::move(c));
    }
    for (const auto& u : j.at("undeclared_parents"))
      r.undeclared.push_back({u.at("name").get<std::string>(), u.at("path").get<std::string>(), evidence_from(u.at("evidence")),
                              u.at("may_be_ancestor_of_declared").get<bool>()});
    const auto& relation = j.at("relation");
    r.relation.declared = declared_relation_from(relation.at("declared"));
    r.relation.contradicted = relation.at("contradicted").get<bool>();
    r.relation.reason = relation.at("reason").get<std::string>();
    const auto& license = j.at("license");
    r.license.license = optional_text_from(license.at("license"));
    for (const auto& a : license.at("ancestors")) r.license.ancestors.push_back({a.at("name").get<std::string>(), optional_text_from(a.at("license"))});
    r.license.permissive_over_restrictive = license.at("permissive_over_restrictive").get<bool>();
    r.notes = j.at("notes").get<std::vector<std::string>>();
    return r;
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(where, std::string("not an audit result: ") + e.what());
  } catch (const std::invalid_argument& e) {
    throw FormatError(where, std::string("not an audit result: ") + e.what());
  }
}

}  // namespace modeldna::audit
