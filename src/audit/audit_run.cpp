#include "modeldna/audit/audit_run.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include <omp.h>

#include "modeldna/core/error.h"
#include "modeldna/core/sha256.h"
#include "paths.h"

namespace modeldna::audit {
namespace fs = std::filesystem;

namespace {

std::string digest(const nlohmann::json& j) {
  const std::string text = j.dump();
  return sha256_hex(text.data(), text.size());
}

// A weight file or folder given as a base, as it is now.
nlohmann::json file_state(const std::string& path) {
  if (fs::is_directory(path)) return folder_state(path);
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  const auto time = fs::last_write_time(path, ec);
  return {ec ? -1 : static_cast<int64_t>(size), ec ? 0 : static_cast<int64_t>(time.time_since_epoch().count())};
}

// Everything a result depends on besides the folder itself: a kept result
// is reused only under the same digest.
std::string settings_digest(const AuditRunOptions& o, registry::Database* db, bool runs_models) {
  nlohmann::json bases = nlohmann::json::array();
  for (const auto& b : o.audit.bases) bases.push_back({detail::canonical(b), file_state(b)});
  const auto& c = o.audit.compare;
  nlohmann::json settings = {{"audit_format", kAuditFormatVersion},
                             {"bases", bases},
                             {"alpha", c.weights.alpha},
                             {"units", {c.weights.max_units, c.weights.max_inputs, c.weights.seed, c.weights.match_permutations}},
                             {"black_box", c.black_box && runs_models},
                             {"references", c.references},
                             {"find", {o.audit.find.alpha, o.audit.find.top, o.audit.find.neighbours, o.audit.find.bucket_scan}}};
  if (db) {
    const auto ids = db->ids();
    settings["registry"] = {ids.size(), ids.empty() ? 0 : ids.back()};  // a model added or removed changes what find names
  }
  return digest(settings);
}

// Models run one at a time when several folders are audited at once: a
// runner holds one network and its probes.
class LockedBehaviour final : public compare::Behaviour {
 public:
  LockedBehaviour(compare::Behaviour& inner, std::mutex& m) : inner_(inner), mutex_(m) {}
  bool can_run(const io::TensorStore& store) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return inner_.can_run(store);
  }
  compare::BlackBoxEvidence evidence(const compare::StorePtr& source, const compare::StorePtr& target,
                                     const std::vector<compare::StorePtr>& references, uint64_t seed) override {
    std::lock_guard<std::mutex> lock(mutex_);
    return inner_.evidence(source, target, references, seed);
  }

 private:
  compare::Behaviour& inner_;
  std::mutex& mutex_;
};

class LockedFingerprinter final : public registry::Fingerprinter {
 public:
  LockedFingerprinter(registry::Fingerprinter& inner, std::mutex& m) : inner_(inner), mutex_(m) {}
  registry::Fingerprint fingerprint(const std::string& path) override {
    std::lock_guard<std::mutex> lock(mutex_);
    return inner_.fingerprint(path);
  }
  void judge_on_outputs(registry::Registry& registry, const registry::Fingerprint& query, const registry::FindOptions& options,
                        registry::FindResult& result) override {
    std::lock_guard<std::mutex> lock(mutex_);
    inner_.judge_on_outputs(registry, query, options, result);
  }

 private:
  registry::Fingerprinter& inner_;
  std::mutex& mutex_;
};

// One worker: its own registry connection (neither SQLite handles nor
// libpqxx connections are shared between threads) and its runners.
struct Worker {
  std::unique_ptr<registry::Registry> registry;
  std::unique_ptr<compare::Behaviour> locked_behaviour;
  std::unique_ptr<registry::Fingerprinter> locked_fingerprinter;
  AuditOptions options;
  compare::Behaviour* behaviour = nullptr;
};

FolderOutcome audit_one(const std::string& folder, Worker& w, const std::string& settings, bool resume) {
  FolderOutcome out;
  out.folder = folder;
  try {
    const std::string state = folder_state(folder);
    const std::string key = detail::canonical(folder);
    registry::Database* db = w.registry ? &w.registry->database() : nullptr;
    if (db && resume) {
      if (const auto kept = db->stored_audit(settings, key); kept && kept->state == state) {
        try {
          out.result = audit_result_from_json(nlohmann::json::parse(kept->result), db->location() + ": kept audit of " + folder);
          out.reused = true;
          return out;
        } catch (const nlohmann::json::exception&) {
          // An unreadable kept result is audited again (and replaced).
        } catch (const FormatError&) {
        }
      }
    }
    out.result = audit_folder(folder, w.options, w.behaviour);
    if (db) db->store_audit(settings, key, {state, to_json(*out.result).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)});
  } catch (const Error& e) {
    out.result.reset();
    out.error = e.what();
  }
  return out;
}

}  // namespace

std::string folder_state(const std::string& folder) {
  std::error_code ec;
  std::map<std::string, nlohmann::json> files;  // sorted by name
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    std::error_code e;
    if (!entry.is_regular_file(e)) continue;  // a nested model folder is audited on its own
    const auto size = entry.file_size(e);
    const auto time = fs::last_write_time(entry.path(), e);
    files[entry.path().filename().string()] = {static_cast<int64_t>(size), static_cast<int64_t>(time.time_since_epoch().count())};
  }
  if (ec) throw FormatError(folder, "cannot list the folder: " + ec.message());
  nlohmann::json j = nlohmann::json::array();
  for (const auto& [name, stat] : files) j.push_back({name, stat});
  return digest(j);
}

FolderList folders_to_audit(const std::vector<std::string>& roots) {
  FolderList list;
  for (const auto& root : roots) {
    try {
      const auto found = model_folders_under(root);
      if (found.empty()) throw FormatError(root, "no model folder in it (no README.md, config.json, adapter or weights)");
      list.folders.insert(list.folders.end(), found.begin(), found.end());
    } catch (const Error& e) {
      list.errors.push_back(e.what());
    }
  }
  return list;
}

AuditRunSummary audit_folders(const std::vector<std::string>& folders, const AuditRunOptions& options,
                              compare::Behaviour* behaviour, const std::function<void(const FolderOutcome&)>& on_outcome) {
  MDNA_CHECK(options.registry.empty() || !options.audit.registry,
             "audit_folders: give the registry as a location (each worker opens its own), not as AuditOptions::registry");
  MDNA_CHECK(options.jobs == 1 || !options.audit.registry, "audit_folders: several jobs need the registry's location");
  std::vector<std::string> mine;
  for (std::size_t k = 0; k < folders.size(); ++k)
    if (options.shard.takes(k)) mine.push_back(folders[k]);
  const auto jobs = static_cast<std::size_t>(std::clamp<int64_t>(options.jobs, 1, std::max<int64_t>(1, static_cast<int64_t>(mine.size()))));

  std::mutex runner_mutex;
  std::vector<Worker> workers(jobs);
  for (auto& w : workers) {
    w.options = options.audit;
    w.behaviour = behaviour;
    if (!options.registry.empty()) {
      w.registry = std::make_unique<registry::Registry>(options.registry);
      w.options.registry = w.registry.get();
    }
    if (jobs > 1 && behaviour) {
      w.locked_behaviour = std::make_unique<LockedBehaviour>(*behaviour, runner_mutex);
      w.behaviour = w.locked_behaviour.get();
    }
    if (jobs > 1 && options.audit.fingerprinter) {
      w.locked_fingerprinter = std::make_unique<LockedFingerprinter>(*options.audit.fingerprinter, runner_mutex);
      w.options.fingerprinter = w.locked_fingerprinter.get();
    }
  }
  const std::string settings =
      workers.front().registry ? settings_digest(options, &workers.front().registry->database(), behaviour != nullptr) : "";

  AuditRunSummary summary;
  std::vector<std::optional<FolderOutcome>> finished(mine.size());
  std::size_t reported = 0;
  std::mutex report_mutex;
  std::atomic<std::size_t> next{0};
  std::exception_ptr failure;  // a bug, or on_outcome's own exception: stops every worker
  auto work = [&](Worker& w) {
    // Parallel across folders, so each folder's own work on one thread:
    // find's OpenMP team in every worker would oversubscribe the cores.
    if (jobs > 1) omp_set_num_threads(1);
    try {
      for (std::size_t k; (k = next++) < mine.size();) {
        FolderOutcome out = audit_one(mine[k], w, settings, options.resume);
        out.position = k + 1;
        out.total = mine.size();
        std::lock_guard<std::mutex> lock(report_mutex);
        finished[k] = std::move(out);
        for (; reported < finished.size() && finished[reported]; ++reported) {
          const FolderOutcome& f = *finished[reported];
          on_outcome(f);
          if (!f.result) ++summary.failed;
          else {
            ++(f.reused ? summary.reused : summary.audited);
            summary.results.push_back(*f.result);
          }
          finished[reported].reset();
        }
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(report_mutex);
      if (!failure) failure = std::current_exception();
      next = mine.size();
    }
  };
  if (jobs == 1) {
    work(workers.front());
  } else {
    std::vector<std::thread> threads;
    for (auto& w : workers) threads.emplace_back(work, std::ref(w));
    for (auto& t : threads) t.join();
  }
  if (failure) std::rethrow_exception(failure);
  return summary;
}

}  // namespace modeldna::audit
