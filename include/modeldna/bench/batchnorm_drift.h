// File: modeldna/bench/batchnorm_drift.h
// How much of a fine-tune's source survives in its BatchNorm statistics
// (issue 13, "BatchNorm drift"): on the source task's images, how often a
// trained target agrees with its source's top-1 answer (its classes renamed
// one-to-one to agree best: targets answer in their own labels), as trained and after
// its BatchNorm statistics are re-estimated on source-task images. Scratch
// models of the same architecture are the unrelated baseline.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include <torch/types.h>

#include "modeldna/zoo/zoo_models.h"

namespace modeldna::bench {

struct DriftOptions {
  int64_t agreement_images = 1000;  // source-task test images the answers are compared on
  int64_t statistics_images = 2000;  // source-task training images the statistics are re-estimated from
};

struct DriftReport {
  nlohmann::json json;   // one row per (target, source) pair
  std::string markdown;  // the tables of BENCHMARKS.md
};

/// The fraction of inputs on which the target's top-1 class, renamed by the
/// one-to-one renaming of its classes that agrees best, is the source's.
/// Both [inputs, classes] logits of one shape.
double renamed_agreement(const torch::Tensor& target_logits, const torch::Tensor& source_logits);

/// Every trained target of a zoo's image sources (fine-tunes, partial
/// fine-tunes) against its source, and every scratch model against each
/// source of its architecture.
DriftReport measure_batchnorm_drift(zoo::ZooModels& zoo, const DriftOptions& options = {});

}  // namespace modeldna::bench
