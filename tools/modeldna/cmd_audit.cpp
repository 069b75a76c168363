// modeldna audit: does what a model folder declares about its lineage hold
// against its weights?
#include <unistd.h>

#include <cstdio>
#include <string>
#include <memory>

#include "cli_support.h"
#include "commands.h"
#include "modeldna/attest/attestation.h"
#include "modeldna/audit/audit.h"
#include "modeldna/audit/audit_run.h"
#include "modeldna/audit/cyclonedx.h"
#include "modeldna/core/json_file.h"
#include "modeldna/core/error.h"
#include "modeldna/core/shard.h"
#include "runtime.h"

namespace modeldna::cli {
namespace {

struct AuditCliOptions {
  std::vector<std::string> folders, fail_on;
  std::string cyclonedx, db, shard;
  AttestFlags attest;
  audit::AuditRunOptions run;
  bool json = false, no_black_box = false, fresh = false;
};

// Progress on stderr: on a terminal one line redrawn as a bar, elsewhere (a
// log, CI) one line per folder.
constexpr int kProgressBarWidth = 30;
void print_progress(const audit::FolderOutcome& f, bool terminal) {
  const char* kept = f.reused ? " (kept result)" : "";
  if (!terminal) {
    std::fprintf(stderr, "[%zu/%zu] %s%s\n", f.position, f.total, f.folder.c_str(), kept);
    return;
  }
  const auto filled = static_cast<int>(kProgressBarWidth * f.position / f.total);
  std::fprintf(stderr, "\r\033[K[%s%s] %zu/%zu %s%s", std::string(static_cast<std::size_t>(filled), '#').c_str(),
               std::string(static_cast<std::size_t>(kProgressBarWidth - filled), '.').c_str(), f.position, f.total, f.folder.c_str(), kept);
  if (f.position == f.total) std::fprintf(stderr, "\n");
  std::fflush(stderr);
}

void print_text(const audit::AuditResult& r) {
  std::printf("%s (%s)\n", r.folder.c_str(), r.name.c_str());
  if (r.bases.empty()) std::printf("  declares no base model\n");
  for (const auto& b : r.bases)
    std::printf("  base %s: %s (%s)\n", b.declared.c_str(), std::string(audit::finding_name(b.finding)).c_str(), b.reason.c_str());
  for (const auto& u : r.undeclared)
    std::printf("  %s %s: %s, p = %s, %s\n", u.may_be_ancestor_of_declared ? "registered ancestor (of a declared base?)" : "undeclared parent", u.name.c_str(),
                std::string(compare::verdict_name(u.evidence.verdict)).c_str(), compare::p_value_text(u.evidence.log10_p).c_str(),
                std::string(compare::relation_name(u.evidence.relation)).c_str());
  if (r.relation.declared)
    std::printf("  relation %s: %s\n", std::string(audit::declared_relation_name(*r.relation.declared)).c_str(),
                r.relation.contradicted ? ("contradicted (" + r.relation.reason + ")").c_str() : "consistent");
  if (r.license.license || !r.license.ancestors.empty()) {
    std::printf("  license %s", r.license.license ? r.license.license->c_str() : "(none declared)");
    for (const auto& a : r.license.ancestors) std::printf("; ancestor %s: %s", a.name.c_str(), a.license ? a.license->c_str() : "(none declared)");
    std::printf("%s\n", r.license.permissive_over_restrictive ? " -- a permissive license over a restrictive ancestor" : "");
  }
  for (const auto& n : r.notes) std::printf("  note: %s\n", n.c_str());
}

}  // namespace

void add_audit_command(CLI::App& app) {
  auto o = std::make_shared<AuditCliOptions>();
  auto* cmd = app.add_subcommand("audit", "Check what model folders declare about their lineage (base_model, relation, "
                                          "license) against their weights");
  cmd->add_option("folder", o->folders,
                  "Hugging Face-style model folders (README.md, config.json, weights), or folders holding them (a hub "
                  "mirror: every model folder below is audited)")
      ->required();
  cmd->add_option("--base", o->run.audit.bases,
                  "A base model a folder may declare (repeatable): a model folder, named by its card's model_name, "
                  "config.json's _name_or_path or its folder name; or a weight file, named by its file name")
      ->allow_extra_args(false);  // one value per --base: the folders after it stay positional
  cmd->add_option("--db", o->db,
                  "A registry (SQLite file or postgresql:// URL): declared bases are looked up by name (registry add "
                  "--name), and find names the parent each folder derives from, declared or not");
  cmd->add_option("--fail-on", o->fail_on, "Exit 3 when a folder has this finding: contradicted, unverifiable, undeclared (repeatable)")
      ->allow_extra_args(false)
      ->check([](const std::string& v) { return audit::parse_fail_on(v) ? "" : "'" + v + "' is not contradicted, unverifiable or undeclared"; });
  add_json_flag(cmd, o->json, "Print one JSON object per folder, one per line (docs/spec/audit-v1.md)");
  cmd->add_option("--cyclonedx", o->cyclonedx, "Also write the audited models as a CycloneDX 1.6 ML-BOM (JSON) here");
  add_attest_flags(cmd, o->attest);
  cmd->add_option("--alpha", o->run.audit.compare.weights.alpha, "Level of each comparison's verdict (default 0.01)");
  cmd->add_option("--reference", o->run.audit.compare.references,
                  "A model trained independently of the bases on their task (repeatable): calibrates the black-box "
                  "evidence, as compare's --reference does (3 or more give it a p-value)")
      ->allow_extra_args(false);
  cmd->add_flag("--no-black-box", o->no_black_box, "Weights only, even when models can run");
  cmd->add_option("--jobs", o->run.jobs, "Folders audited at once (default 1)")->check(CLI::Range(1, 256));
  cmd->add_option("--shard", o->shard, "I/N: audit only every N-th folder from the I-th (0-based), for several processes on one tree");
  cmd->add_flag("--fresh", o->fresh, "Audit every folder again, even when --db keeps its result from an earlier run");
  cmd->callback([o] {
    o->run.audit.compare.black_box = !o->no_black_box;
    o->run.registry = o->db;
    o->run.resume = !o->fresh;
    if (!o->shard.empty()) o->run.shard = parse_shard(o->shard);
    const auto behaviour = runtime().behaviour({});
    // Each argument is a model folder or a tree of them (a hub mirror).
    const auto list = audit::folders_to_audit(o->folders);
    for (const auto& e : list.errors) std::fprintf(stderr, "modeldna: error: %s\n", e.c_str());
    // Before anything is printed: a model that can run makes its black-box
    // evidence part of the audit, and running needs modeldna-lab (runtime.h).
    if (o->run.audit.compare.black_box) {
      std::vector<std::string> weights = o->run.audit.bases;
      weights.insert(weights.end(), o->run.audit.compare.references.begin(), o->run.audit.compare.references.end());
      for (std::size_t k = 0; k < list.folders.size(); ++k) {
        if (!o->run.shard.takes(k)) continue;
        try {
          const auto files = audit::read_model_folder(list.folders[k]).weight_files;
          weights.insert(weights.end(), files.begin(), files.end());
        } catch (const Error&) {
          // Reported when the folder is audited.
        }
      }
      runtime().hand_over_if_runnable(weights, RunsFor::Behaviour);
    }
    bool found = false;
    // A bar only when results go elsewhere: redrawn lines would cut into them.
    const bool terminal = isatty(fileno(stderr)) != 0 && isatty(fileno(stdout)) == 0;
    const auto summary = audit::audit_folders(list.folders, o->run, behaviour.get(), [&](const audit::FolderOutcome& f) {
      if (f.total > 1) print_progress(f, terminal);
      if (!f.result) {
        // One line per folder that cannot be audited; the others go on.
        std::fprintf(stderr, "%smodeldna: error: %s\n", terminal && f.total > 1 && f.position < f.total ? "\n" : "", f.error.c_str());
        return;
      }
      if (o->json) std::printf("%s\n", audit::to_json(*f.result).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
      else print_text(*f.result);
      std::fflush(stdout);
      for (const auto& name : o->fail_on) found = found || audit::fails(*f.result, *audit::parse_fail_on(name));
    });
    if (summary.audited + summary.reused + summary.failed > 1)
      std::fprintf(stderr, "%zu folders: %zu audited, %zu kept from an earlier run, %zu could not be audited\n",
                   summary.audited + summary.reused + summary.failed, summary.audited, summary.reused, summary.failed);
    if (!o->cyclonedx.empty()) write_json_file(o->cyclonedx, audit::cyclonedx_bom(summary.results));
    if (o->attest.wanted()) {
      std::vector<attest::Subject> subjects;
      nlohmann::json audits = nlohmann::json::array();
      for (const auto& r : summary.results) {
        for (const auto& w : r.weights) subjects.push_back({w.path, w.sha256});
        audits.push_back(audit::to_json(r));
      }
      attest::write_attestation(o->attest.out, attest::statement(subjects, attest::kAuditPredicate, {{"audits", audits}}), o->attest.key);
    }
    const std::size_t failed = summary.failed + list.errors.size();
    if (failed) throw UsageError(std::to_string(failed) + " of the folders could not be audited (see above); the others were");
    if (found) throw FindingExit{};
  });
}

}  // namespace modeldna::cli
