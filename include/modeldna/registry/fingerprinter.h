// File: modeldna/registry/fingerprinter.h
// How a model file becomes a registry fingerprint, and how `find` judges a
// query on outputs when no weights are shared. Both need a model run for the
// models modeldna can run, and running needs libtorch, which this module
// keeps out: evidence::ModelFingerprinter (evidence/fingerprint_probes.h)
// runs models; StoreFingerprinter here reads weights only.
#pragma once

#include <string>

#include "modeldna/registry/registry.h"

namespace modeldna::registry {

class Fingerprinter {
 public:
  virtual ~Fingerprinter() = default;
  /// The file's fingerprint: its store's sketches, plus its outputs on the
  /// standard probes when the model can run.
  virtual Fingerprint fingerprint(const std::string& path) = 0;
  /// Called by find when the sketches tested nothing (no tensor shape in
  /// common): adds candidates judged on stored outputs, or a note why not.
  virtual void judge_on_outputs(Registry& registry, const Fingerprint& query, const FindOptions& options,
                                FindResult& result) = 0;
};

/// Weights only: never runs a model, so a query has no outputs to judge.
class StoreFingerprinter : public Fingerprinter {
 public:
  Fingerprint fingerprint(const std::string& path) override;
  void judge_on_outputs(Registry& registry, const Fingerprint& query, const FindOptions& options,
                        FindResult& result) override;
};

}  // namespace modeldna::registry
