// File: modeldna/compare/compare_files.h
// The one library call behind "did TARGET come from SOURCE?": the CLI's
// `compare`, ProvBench's compare detector and the tests all run it. It opens
// both files, runs the white-box test, runs both models when it can (through
// a Behaviour, which holds everything that needs libtorch, so this module
// stays torch-free) and fuses the two families (compare.h). Torch-free.
//
// Example:
//   CompareFilesOptions o;                                  // alpha 0.01, black-box on
//   auto result = compare_files("parent.safetensors", "child.gguf", o, nullptr);  // weights only
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "modeldna/compare/compare.h"

namespace modeldna::compare {

/// What runs models for compare: implemented where libtorch is
/// (evidence/model_behaviour.h). can_run must be cheap and torch-free in
/// spirit (it reads metadata): it decides whether the models are run at all.
class Behaviour {
 public:
  virtual ~Behaviour() = default;
  /// Whether `store` holds a model this runner can run, or why not.
  virtual bool can_run(const io::TensorStore& store) const = 0;
  /// The behavioural evidence for the pair, calibrated by `references`
  /// (models trained independently of the source on its task).
  virtual BlackBoxEvidence evidence(const std::shared_ptr<const io::TensorStore>& source,
                                    const std::shared_ptr<const io::TensorStore>& target,
                                    const std::vector<std::shared_ptr<const io::TensorStore>>& references,
                                    uint64_t seed) = 0;
};

struct CompareFilesOptions {
  CompareOptions weights;               // alpha, the unit sample, relabelling search
  std::vector<std::string> references;  // files of independent models of the source's task (black-box panel)
  bool black_box = true;                // run both models when both can run
};

using StorePtr = std::shared_ptr<const io::TensorStore>;

/// compare_files on opened stores (the bench opens each model once for many
/// pairs); `references` replace options.references.
CompareResult compare_stores(const StorePtr& source, const StorePtr& target, const std::vector<StorePtr>& references,
                             const CompareFilesOptions& options, Behaviour* behaviour);

/// Opens both files (any format modeldna reads) and compares them; with no
/// `behaviour`, or when either model cannot run, the verdict rests on the
/// weights and a note says why.
CompareResult compare_files(const std::string& source, const std::string& target, const CompareFilesOptions& options,
                            Behaviour* behaviour);

}  // namespace modeldna::compare
