// modeldna-lab's runtime: everything in process, with libtorch.
#include "modeldna/core/error.h"
#include "modeldna/evidence/fingerprint_probes.h"
#include "modeldna/evidence/model_behaviour.h"
#include "modeldna/nn/model_file.h"
#include "runtime.h"

namespace modeldna::cli {
namespace {

class LabRuntime : public Runtime {
 public:
  bool runs_networks() const override { return true; }
  void hand_over_if_runnable(const std::vector<std::string>&, RunsFor) override {}
  [[noreturn]] void hand_over() override { throw InternalError("modeldna-lab has no other binary to hand a command to"); }
  std::unique_ptr<compare::Behaviour> behaviour(const evidence::BehaviourOptions& options) override {
    return std::make_unique<evidence::ModelBehaviour>(options);
  }
  registry::Fingerprinter& fingerprinter() override { return fingerprinter_; }
  std::optional<std::vector<std::string>> runnable_layers(const std::shared_ptr<const io::TensorStore>& store) override {
    if (!nn::runnable_arch(*store)) return std::nullopt;
    return nn::load_model(store).network->layer_names();
  }

 private:
  evidence::ModelFingerprinter fingerprinter_;
};

}  // namespace

Runtime& runtime() {
  static LabRuntime lab;
  return lab;
}

void set_command_line(int, const char* const*) {}

}  // namespace modeldna::cli
