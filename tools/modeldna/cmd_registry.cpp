// modeldna registry add|list|remove|show, find: a registry of fingerprints
// and the parent search over it (docs/registry.md).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli_support.h"
#include "commands.h"
#include "modeldna/audit/model_folder.h"
#include "runtime.h"
#include "modeldna/core/error.h"
#include "modeldna/core/shard.h"
#include "modeldna/registry/find_file.h"
#include "modeldna/registry/registry.h"

namespace modeldna::cli {
namespace {

struct RegistryOptions {
  std::string db;
  std::vector<std::string> files, keys;
  std::string shard, name;
  bool json = false;
  registry::FindOptions find;
};

std::string db_location(const RegistryOptions& o) { return o.db.empty() ? registry::default_registry_location() : o.db; }

void add_db_option(CLI::App* cmd, RegistryOptions& o) {
  cmd->add_option("--db", o.db,
                  "Registry: an SQLite file or a postgresql:// URL (default $MODELDNA_REGISTRY, else "
                  "~/.local/share/modeldna/registry.sqlite)");
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

void add_files(const RegistryOptions& o) {
  const Shard shard = o.shard.empty() ? Shard{} : parse_shard(o.shard);
  std::vector<std::string> mine;
  for (std::size_t k = 0; k < o.files.size(); ++k)
    if (shard.takes(k)) mine.push_back(o.files[k]);
  // Before any file is added or printed: a runnable model's outputs are part
  // of its fingerprint.
  runtime().hand_over_if_runnable(mine, RunsFor::Fingerprints);
  if (!o.name.empty() && mine.size() != 1) throw UsageError("--name names one model: give one file or folder");
  registry::Registry reg(db_location(o));
  nlohmann::json out = nlohmann::json::array();
  int failed = 0;
  for (std::size_t k = 0; k < o.files.size(); ++k) {
    if (!shard.takes(k)) continue;
    const auto& path = o.files[k];
    const auto start = std::chrono::steady_clock::now();
    try {
      const auto fp = runtime().fingerprinter().fingerprint(path);
      // A folder is named as audit names it (its card's model_name, ...).
      const std::string name = !o.name.empty() ? o.name : std::filesystem::is_directory(path) ? audit::read_model_folder(path).name() : "";
      const auto r = reg.add(fp, name);
      const double seconds = seconds_since(start);
      const auto bytes = registry::encode(fp).size();
      out.push_back({{"path", fp.path}, {"name", name}, {"id", r.id}, {"added", r.added}, {"fingerprint_bytes", bytes}, {"seconds", seconds}});
      if (!o.json)
        std::printf("%s %lld %s (%s, %.1f KB fingerprint, %.2f s)\n", r.added ? "added" : "already registered as",
                    static_cast<long long>(r.id), fp.path.c_str(), std::string(io::format_name(fp.format)).c_str(),
                    static_cast<double>(bytes) / 1024.0, seconds);
    } catch (const Error& e) {
      // One bad file does not cost the others their place.
      ++failed;
      std::fprintf(stderr, "modeldna: error: %s\n", e.what());
      out.push_back({{"path", path}, {"error", e.what()}});
    }
  }
  if (o.json) print_json(out);
  if (failed) throw Error(std::to_string(failed) + " of the files could not be added (see above); the others were");
}

void list_models(const RegistryOptions& o) {
  registry::Registry reg(db_location(o));
  const auto models = reg.list();
  if (o.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& m : models)
      out.push_back({{"id", m.id},
                     {"path", m.path},
                     {"name", m.name},
                     {"format", m.format},
                     {"architecture", m.architecture},
                     {"parameters", m.parameters},
                     {"content_hash", m.content_hash},
                     {"shape_signature", m.shape_signature},
                     {"fingerprint_bytes", m.fingerprint_bytes},
                     {"added_at", m.added_at}});
    return print_json(out);
  }
  for (const auto& m : models)
    std::printf("%6lld  %-11s %-10s %12lld params  %s%s\n", static_cast<long long>(m.id), m.format.c_str(),
                m.architecture.empty() ? "-" : m.architecture.c_str(), static_cast<long long>(m.parameters), m.path.c_str(),
                m.name.empty() ? "" : ("  (" + m.name + ")").c_str());
  std::printf("%zu models in %s\n", models.size(), reg.database().location().c_str());
}

void remove_models(const RegistryOptions& o) {
  registry::Registry reg(db_location(o));
  int missing = 0;
  nlohmann::json out = nlohmann::json::array();
  for (const auto& key : o.keys) {
    const auto n = reg.remove(key);
    out.push_back({{"model", key}, {"removed", n}});
    if (n == 0) {
      ++missing;
      std::fprintf(stderr, "modeldna: error: %s: no such model in the registry\n", key.c_str());
    } else if (!o.json) {
      std::printf("removed %lld model%s: %s\n", static_cast<long long>(n), n == 1 ? "" : "s", key.c_str());
    }
  }
  if (o.json) print_json(out);
  if (missing) throw Error(std::to_string(missing) + " of the models named were not in the registry");
}

void show_model(const RegistryOptions& o) {
  registry::Registry reg(db_location(o));
  const auto fp = reg.show(o.keys.at(0));
  if (!fp) throw Error(o.keys[0] + ": no such model in the registry");
  const auto j = registry::to_json(*fp);
  if (o.json) return print_json(j);
  std::printf("%s\n  format %s, architecture %s, %lld parameters in %lld tensors\n  content sha256 %s\n"
              "  shape signature %s, tensors hash %s\n  fingerprint %lld bytes: %zu sketched tensors of %lld candidates%s\n",
              fp->path.c_str(), std::string(io::format_name(fp->format)).c_str(),
              fp->architecture.empty() ? "-" : fp->architecture.c_str(), static_cast<long long>(fp->parameters),
              static_cast<long long>(fp->tensors), fp->content_hash.c_str(), fp->shape_signature.c_str(),
              fp->tensors_hash.c_str(), static_cast<long long>(j["encoded_bytes"].get<int64_t>()), fp->sketch.tensors.size(),
              static_cast<long long>(fp->sketch.candidates), fp->outputs ? ", outputs on standard probes" : "");
}

void find_parent(const RegistryOptions& o) {
  registry::Registry reg(db_location(o));
  const auto result = registry::find_file(reg, o.files.at(0), o.find, runtime().fingerprinter());
  if (o.json) return print_json(registry::to_json(result));
  if (result.parent)
    std::printf("parent: %s (%sp = %s after Holm over %lld models; relation: %s; direction: %s)\n", result.parent->model.path.c_str(),
                result.parent->copied ? "a copy, layers equal float for float; tested " : "",
                compare::p_value_text(result.parent->log10_p_adjusted).c_str(), static_cast<long long>(result.registry_models),
                std::string(compare::relation_name(result.parent->relation)).c_str(),
                std::string(registry::direction_name(result.parent->direction)).c_str());
  else
    std::printf("no parent in the registry (%lld models; %lld tested)\n", static_cast<long long>(result.registry_models),
                static_cast<long long>(result.tested));
  if (result.same_file)
    std::printf("this file is registered itself, as %lld\n", static_cast<long long>(result.same_file->id));
  for (const auto& c : result.candidates)
    std::printf("  %-5s %-14s closeness %.3f  %-20s %-12s %s\n", c.significant ? "yes" : "no",
                (c.copied ? std::string("copy") : "p = " + compare::p_value_text(c.log10_p_adjusted)).c_str(),
                c.closeness, std::string(compare::relation_name(c.relation)).c_str(),
                std::string(registry::direction_name(c.direction)).c_str(), c.model.path.c_str());
  for (const auto& note : result.notes) std::printf("note: %s\n", note.get<std::string>().c_str());
}

}  // namespace

void add_registry_commands(CLI::App& app) {
  auto o = std::make_shared<RegistryOptions>();
  auto* reg = app.add_subcommand("registry", "A registry of model fingerprints (SQLite or PostgreSQL)");
  reg->require_subcommand(1);

  auto* add = reg->add_subcommand("add", "Fingerprint model files and add them (one transaction each; idempotent)");
  add->add_option("files", o->files, "Model files")->required();
  add_db_option(add, *o);
  add->add_option("--shard", o->shard, "I/N: take only every N-th file from the I-th (0-based), for batch jobs");
  add->add_option("--name", o->name,
                  "The model's name, which base_model values in model cards match (audit); a model folder is named "
                  "by its card's model_name, else config.json's _name_or_path, else the folder's name");
  add_json_flag(add, o->json, "Print what was added as JSON");
  add->callback([o] { add_files(*o); });

  auto* list = reg->add_subcommand("list", "List the registered models");
  add_db_option(list, *o);
  add_json_flag(list, o->json);
  list->callback([o] { list_models(*o); });

  auto* remove = reg->add_subcommand("remove", "Remove models by id, path or content hash");
  remove->add_option("models", o->keys, "Ids, paths or SHA-256 content hashes")->required();
  add_db_option(remove, *o);
  add_json_flag(remove, o->json, "Print what was removed as JSON");
  remove->callback([o] { remove_models(*o); });

  auto* show = reg->add_subcommand("show", "Show one model's fingerprint");
  show->add_option("model", o->keys, "Id, path or SHA-256 content hash")->required()->expected(1);
  add_db_option(show, *o);
  add_json_flag(show, o->json, "Print the fingerprint as JSON (docs/spec/fingerprint-v4.md)");
  show->callback([o] { show_model(*o); });

  add_registry_bench_command(*reg);

  auto* find = app.add_subcommand("find", "Which registered model, if any, is FILE derived from?");
  find->add_option("file", o->files, "The model in question")->required()->expected(1);
  add_db_option(find, *o);
  add_json_flag(find, o->json, "Print the result as JSON (docs/registry.md)");
  find->add_option("--top", o->find.top, "Candidates to report (default 5)");
  find->add_option("--alpha", o->find.alpha, "Family-wise level after the correction for the registry's size (default 0.01)");
  find->callback([o] { find_parent(*o); });
}

}  // namespace modeldna::cli
