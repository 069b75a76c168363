// File: modeldna/zoo/preset.h
// A preset is the plan of a zoo: which models to make, in which order, from
// which parents, with which recipes (docs/zoo.md describes both presets).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "modeldna/data/tokenizer.h"
#include "modeldna/nn/network.h"
#include "modeldna/nn/train.h"
#include "modeldna/zoo/manifest.h"

namespace modeldna::zoo {

/// One model to make. `relation` picks the builder step (zoo/builder.cpp).
struct ModelPlan {
  std::string id;
  Derivation relation = Derivation::Source;
  nn::ArchConfig arch;
  std::optional<std::string> parent;  // the model it derives from
  std::string root;                   // lineage root ("" for negatives)
  int64_t k = 0;
  std::string task;
  std::string split;                  // "train" or "test"
  nn::TrainOptions recipe;            // epochs 0: no training
  int64_t max_train = 0;
  int64_t max_test = 0;
  double prune_fraction = 0;
  double distill_temperature = 0;
  /// replace-last-k: the model whose first layers are kept (a scratch target).
  std::string base;
};

struct ZooPlan {
  std::string preset;
  uint64_t zoo_seed = 0;  // make_preset's zoo_seed
  data::Modality modality = data::Modality::Image;
  data::TokenizerOptions tokenizer;    // text: trained first, saved as <zoo>/tokenizer.model
  int64_t seq_len = 0;                 // text: tokens per input
  std::vector<std::string> train_tasks, test_tasks;
  std::vector<std::string> train_sources, heldout_sources;
  std::vector<ModelPlan> models;  // parents before children
};

/// "tiny" (tests: < 60 s for images, < 90 s for text) or "paper"
/// (benchmarks), for image or text models; UsageError otherwise.
/// `zoo_seed` 0 is the preset as documented; another value shifts every
/// model's training seed (initialisation and data order), the same lineage
/// trained again: how zoo assertions are shown not to rest on one draw.
ZooPlan make_preset(const std::string& name, data::Modality modality = data::Modality::Image, uint64_t zoo_seed = 0);
std::vector<std::string> preset_names();

}  // namespace modeldna::zoo
