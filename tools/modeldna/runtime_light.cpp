// modeldna's runtime: no libtorch in this process. Whatever must run a
// network continues as modeldna-lab (runtime.h), found beside this binary.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "modeldna/core/error.h"
#include "modeldna/io/open_store.h"
#include "modeldna/nn/model_format.h"
#include "runtime.h"

namespace modeldna::cli {
namespace {

std::vector<std::string>& command_line() {
  static std::vector<std::string> args;
  return args;
}

// modeldna-lab in this executable's folder.
std::string lab_path() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw Error("cannot find this executable (/proc/self/exe: " + ec.message() + ") to start modeldna-lab beside it");
  return (self.parent_path() / "modeldna-lab").string();
}

// Continues as modeldna-lab with this process's command line.
[[noreturn]] void continue_as_lab() {
  const std::string lab = lab_path();
  std::vector<char*> argv;
  argv.push_back(command_line()[0].data());  // usage lines keep the name the user typed
  for (std::size_t i = 1; i < command_line().size(); ++i) argv.push_back(command_line()[i].data());
  argv.push_back(nullptr);
  std::fflush(stdout);
  std::fflush(stderr);
  execv(lab.c_str(), argv.data());
  throw Error("this command runs a network, which needs modeldna-lab, and " + lab + " could not be started (" +
              std::strerror(errno) + ")");
}

// Whether compare and audit would run the model in `store`.
bool runs_for_behaviour(const io::TensorStore& store) {
  return nn::declares_runnable_model(store) || nn::declares_language_model(store);
}

bool declares_runnable(const std::string& path, RunsFor purpose) {
  try {
    const auto store = io::open_store(path);
    return purpose == RunsFor::Behaviour ? runs_for_behaviour(store) : nn::declares_runnable_model(store);
  } catch (const Error&) {
    return false;  // the command itself reports the file
  }
}

// compare's model runner here: it can tell which models run (their
// metadata); running them is modeldna-lab's.
class HandOverBehaviour : public compare::Behaviour {
 public:
  bool can_run(const io::TensorStore& store) const override { return runs_for_behaviour(store); }
  compare::BlackBoxEvidence evidence(const std::shared_ptr<const io::TensorStore>&, const std::shared_ptr<const io::TensorStore>&,
                                     const std::vector<std::shared_ptr<const io::TensorStore>>&, uint64_t) override {
    continue_as_lab();
  }
};

// Fingerprints here: a file whose model can run continues as modeldna-lab,
// whose fingerprint includes the model's outputs.
class HandOverFingerprinter : public registry::Fingerprinter {
 public:
  registry::Fingerprint fingerprint(const std::string& path) override {
    const auto store = io::open_store(path);
    if (nn::declares_runnable_model(store)) continue_as_lab();
    return registry::fingerprint_store(store);
  }
  void judge_on_outputs(registry::Registry& registry, const registry::Fingerprint& query,
                        const registry::FindOptions& options, registry::FindResult& result) override {
    // Only a query that cannot run reaches here (fingerprint() hands the
    // others over), and such a query has no outputs to compare.
    if (query.outputs) continue_as_lab();
    weights_only_.judge_on_outputs(registry, query, options, result);
  }

 private:
  registry::StoreFingerprinter weights_only_;
};

class LightRuntime : public Runtime {
 public:
  bool runs_networks() const override { return false; }
  void hand_over_if_runnable(const std::vector<std::string>& paths, RunsFor purpose) override {
    for (const auto& path : paths)
      if (declares_runnable(path, purpose)) hand_over();
  }
  [[noreturn]] void hand_over() override { continue_as_lab(); }
  std::unique_ptr<compare::Behaviour> behaviour(const evidence::BehaviourOptions&) override {
    return std::make_unique<HandOverBehaviour>();
  }
  registry::Fingerprinter& fingerprinter() override { return fingerprinter_; }
  std::optional<std::vector<std::string>> runnable_layers(const std::shared_ptr<const io::TensorStore>& store) override {
    if (nn::declares_runnable_model(*store)) hand_over();
    return std::nullopt;
  }

 private:
  HandOverFingerprinter fingerprinter_;
};

}  // namespace

Runtime& runtime() {
  static LightRuntime light;
  return light;
}

void set_command_line(int argc, const char* const* argv) {
  command_line().assign(argv, argv + argc);
}

}  // namespace modeldna::cli
