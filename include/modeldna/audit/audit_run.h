// File: modeldna/audit/audit_run.h
// Auditing many model folders at once (a hub mirror): the list every
// process enumerates the same way, this process's shard of it, several
// folders at a time, and results kept in a registry database so that an
// interrupted run (or a second process on the same tree) continues where
// the work stopped instead of starting again (docs/audit.md, "Many folders").
//
// Example:
//   audit::AuditRunOptions o;
//   o.registry = "postgresql://hub@db/registry";
//   o.jobs = 2;
//   o.shard = parse_shard("0/4");
//   const auto list = audit::folders_to_audit({"mirror/"});
//   audit::audit_folders(list.folders, o, nullptr, [](const audit::FolderOutcome& f) { ... });
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "modeldna/audit/audit.h"
#include "modeldna/core/shard.h"

namespace modeldna::audit {

/// The model folders of `roots`, roots in the order given, each root's
/// folders as model_folders_under lists them. A root that is not a folder,
/// or holds no model folder, is one line in `errors`.
struct FolderList {
  std::vector<std::string> folders;
  std::vector<std::string> errors;
};
FolderList folders_to_audit(const std::vector<std::string>& roots);

struct AuditRunOptions {
  /// What each folder's audit is asked. Its `registry` must be null when
  /// `registry` below is given (each worker opens its own connection).
  AuditOptions audit;
  /// A registry location ("" for none): declared names and find, as
  /// AuditOptions::registry; and where results are kept.
  std::string registry;
  /// Reuse a kept result when the folder's files and the settings (bases,
  /// levels, black box, the registry's models) are what they were.
  bool resume = true;
  int jobs = 1;  // folders audited at once (threads); a model run by `behaviour` runs one at a time
  Shard shard;   // this process's share of the list
};

/// One folder's end.
struct FolderOutcome {
  std::size_t position = 0, total = 0;  // 1-based, among this shard's folders
  std::string folder;
  std::optional<AuditResult> result;    // nullopt: `error` says why, in one line
  std::string error;
  bool reused = false;                  // kept by an earlier run, not audited again
};

struct AuditRunSummary {
  std::vector<AuditResult> results;  // in list order
  std::size_t audited = 0, reused = 0, failed = 0;
};

/// Audits this shard's folders of `folders`, `jobs` at a time. `on_outcome`
/// is called for each folder in list order, one call at a time (a folder
/// finished early waits for those before it). A folder that cannot be
/// audited is an outcome with its error; the others go on.
AuditRunSummary audit_folders(const std::vector<std::string>& folders, const AuditRunOptions& options,
                              compare::Behaviour* behaviour, const std::function<void(const FolderOutcome&)>& on_outcome);

/// What a kept result is checked against: the name, size and modification
/// time of every file directly in `folder` (links followed), as a digest.
std::string folder_state(const std::string& folder);

}  // namespace modeldna::audit
