// File: modeldna/audit/audit.h
// The library call behind `modeldna audit`: does what a model folder
// declares about its lineage (model_folder.h) hold against its weights?
// Each declared base is confirmed, contradicted or unverifiable by
// compare_files against the base models the caller makes available; a base
// the folder does not declare but derives from is reported; the declared
// relation is checked against what compare finds; the license is set beside
// each verified ancestor's (docs/audit.md). Torch-free: models run only
// through the Behaviour the caller passes.
//
// Example:
//   audit::AuditOptions o;
//   o.bases = {"models/llama-base"};
//   const auto r = audit::audit_folder("models/my-finetune", o, nullptr);
//   if (audit::fails(r, audit::FailOn::Contradicted)) ...
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "modeldna/audit/model_folder.h"
#include "modeldna/compare/compare_files.h"
#include "modeldna/registry/fingerprinter.h"
#include "modeldna/registry/registry.h"

namespace modeldna::audit {

enum class Finding : uint8_t {
  Confirmed,     // compare: derived from the declared base (for an adapter: its shapes fit the base)
  Contradicted,  // compare: independent of it (for an adapter: its shapes do not fit)
  Unverifiable,  // the base is not available, or compare could not decide
};
std::string_view finding_name(Finding f);  // "confirmed", "contradicted", "unverifiable"

/// One comparison, summarised for the audit.
struct Evidence {
  std::string source, target;  // the files compared
  compare::Verdict verdict = compare::Verdict::Inconclusive;
  double log10_p = 0;
  compare::Relation relation = compare::Relation::None;
  int64_t layers = 0, layers_from_source = 0;  // target layers, and those derived from the source
};

struct BaseCheck {
  std::string declared;                 // the `base_model` value
  Finding finding = Finding::Unverifiable;
  std::optional<std::string> resolved;  // the base model it named (a --base path)
  std::optional<Evidence> evidence;
  std::string reason;                   // one line: why this finding
};

/// A base model the folder derives from without declaring it.
struct UndeclaredParent {
  std::string name, path;
  Evidence evidence;
  /// The folder declares a base that could not be resolved: this model may
  /// be that base's own ancestor (find names the closest registered
  /// relative), so it is reported but not counted by --fail-on undeclared.
  bool may_be_ancestor_of_declared = false;
};

struct RelationCheck {
  std::optional<DeclaredRelation> declared;
  bool contradicted = false;
  std::string reason;
};

/// How permissive a license identifier is (docs/audit.md lists the table).
enum class LicenseClass : uint8_t { Permissive, Restrictive, Unknown };
LicenseClass classify_license(const std::string& spdx_or_hub_id);
std::string_view license_class_name(LicenseClass c);  // "permissive", "restrictive", "unknown"

struct AncestorLicense {
  std::string name;
  std::optional<std::string> license;
};

struct LicenseCheck {
  std::optional<std::string> license;       // the folder's own
  std::vector<AncestorLicense> ancestors;   // every verified ancestor (confirmed or undeclared parent)
  bool permissive_over_restrictive = false; // a permissive license declared over a restrictive ancestor
};

struct WeightFile {
  std::string path;
  std::string sha256;
};

struct AuditResult {
  std::string folder;
  std::string name;  // ModelFolder::name()
  ModelCard declared;
  std::vector<std::string> architectures;  // config.json's
  std::vector<WeightFile> weights;  // full weights first, then the adapter's
  std::vector<BaseCheck> bases;
  std::vector<UndeclaredParent> undeclared;
  RelationCheck relation;
  LicenseCheck license;
  std::vector<std::string> notes;
};

struct AuditOptions {
  /// Models a declared base may name: folders (named by ModelFolder::name())
  /// or weight files (named by their file name without extension).
  std::vector<std::string> bases;
  compare::CompareFilesOptions compare;
  /// A registry (optional): a declared base not among `bases` is looked up
  /// by name (`registry add --name`), and `find` names the parent the folder
  /// derives from, declared or not. `fingerprinter` makes the query's
  /// fingerprint (StoreFingerprinter when null: weights only).
  registry::Registry* registry = nullptr;
  registry::Fingerprinter* fingerprinter = nullptr;
  registry::FindOptions find;
};

/// Audits one model folder. FormatError naming the file and field for a
/// malformed card or config, or when the folder's weight files disagree
/// (two formats that are not conversions of each other).
AuditResult audit_folder(const std::string& folder, const AuditOptions& options, compare::Behaviour* behaviour);

/// What `--fail-on` can make a non-zero exit of.
enum class FailOn : uint8_t {
  Contradicted,  // a declared base or the declared relation is contradicted
  Unverifiable,  // a declared base could not be verified
  Undeclared,    // a parent the folder does not declare
};
std::optional<FailOn> parse_fail_on(std::string_view name);  // "contradicted", "unverifiable", "undeclared"
bool fails(const AuditResult& result, FailOn condition);

/// The result as docs/spec/audit-v1.md describes it (one JSON object per folder).
inline constexpr int kAuditFormatVersion = 1;
nlohmann::json to_json(const AuditResult& result);
/// Reads to_json's object back (a result kept in a registry database);
/// FormatError naming `where` for anything else.
AuditResult audit_result_from_json(const nlohmann::json& json, const std::string& where);

}  // namespace modeldna::audit
