// The part of the commands that runs networks, behind one interface, so that
// the commands that never run one start without libtorch (issue 27: loading
// it took 0.67 s and 163 MiB per call).
//
// Two executables share the commands: `modeldna`, linked without libtorch,
// and `modeldna-lab` beside it, linked with it. When a command of the light
// binary must run a network (a runnable model to compare, fingerprint or
// inspect; the lab commands: zoo, train, verify, ...), it continues as
// modeldna-lab with the same arguments (exec), before it has printed or
// written anything. modeldna-lab runs everything in process.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "modeldna/compare/compare_files.h"
#include "modeldna/evidence/behaviour_options.h"
#include "modeldna/registry/fingerprinter.h"

namespace modeldna::cli {

/// What a command runs networks for: fingerprints carry the outputs of
/// modeldna's own models; compare and audit also run decoder language
/// models (nn/language_model.h).
enum class RunsFor { Fingerprints, Behaviour };

class Runtime {
 public:
  virtual ~Runtime() = default;
  /// Whether this process can run networks (modeldna-lab).
  virtual bool runs_networks() const = 0;
  /// When any of `paths` declares a model modeldna would run for `purpose`,
  /// a process that cannot run networks continues as modeldna-lab (never
  /// returns); in modeldna-lab, nothing happens.
  virtual void hand_over_if_runnable(const std::vector<std::string>& paths, RunsFor purpose) = 0;
  /// Continues as modeldna-lab with the command line this process was given
  /// (never returns); in modeldna-lab, an internal error.
  [[noreturn]] virtual void hand_over() = 0;
  /// The model runner compare uses, or nullptr where networks cannot run.
  virtual std::unique_ptr<compare::Behaviour> behaviour(const evidence::BehaviourOptions& options) = 0;
  /// How files become registry fingerprints (find, tree, registry add): with
  /// outputs on the standard probes where a model can run.
  virtual registry::Fingerprinter& fingerprinter() = 0;
  /// A runnable model's layer names (inspect), or nullopt for a file that is
  /// data only.
  virtual std::optional<std::vector<std::string>> runnable_layers(const std::shared_ptr<const io::TensorStore>& store) = 0;
};

/// This executable's runtime (runtime_light.cpp or runtime_lab.cpp); main()
/// gives it the command line first.
Runtime& runtime();
void set_command_line(int argc, const char* const* argv);

}  // namespace modeldna::cli
