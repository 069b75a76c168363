// File: modeldna/bench/mgmp_experiment.h
// MGMP on a zoo: which pairs train a detector, and how it is measured. Above
// the method (dna/), so the method does not drag in the zoo builder.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "modeldna/dna/mgmp.h"
#include "modeldna/zoo/zoo_models.h"

namespace modeldna::bench {

/// One group per source: its finetune targets on the zoo's training tasks,
/// each matched with the same-architecture scratch model on that task.
std::vector<dna::TrainingGroup> mgmp_training_groups(zoo::ZooModels& zoo, const std::vector<std::string>& sources);

struct MgmpEvaluation {
  nlohmann::json json;   // every number, per pair too
  std::string markdown;  // the tables of BENCHMARKS.md
};

/// Measures a detector on the zoo's held-out (test-split) targets:
/// the paper's per-probe accuracy per (source, task) pair, and model-level
/// accuracy, ROC AUC and TPR at 1% FPR per relation, for the sources the
/// detector trained on and for the sources it never saw.
MgmpEvaluation evaluate_mgmp(const dna::MgmpDetector& detector, zoo::ZooModels& zoo);

}  // namespace modeldna::bench
