// Small builders shared by the suites that need networks.
#pragma once

#include <string>

#include "modeldna/nn/network.h"
#include "modeldna/nn/train.h"

namespace modeldna::testing {

inline nn::ArchConfig arch_config(const std::string& arch, double width = 1.0, int64_t num_classes = 10) {
  nn::ArchConfig c;
  c.arch = arch;
  c.width = width;
  c.num_classes = num_classes;
  return c;
}

/// A freshly initialised network whose weights follow `seed`.
inline nn::NetworkPtr seeded_network(const nn::ArchConfig& c, uint64_t seed) {
  torch::manual_seed(seed);
  return nn::make_network(c);
}

/// The recipe the small text and language-model tests train with: Adam at
/// 3e-3, no weight decay, batches of 32.
inline nn::TrainOptions small_adam(int64_t epochs, uint64_t seed) {
  nn::TrainOptions o;
  o.optimizer = nn::Optimizer::Adam;
  o.lr = 3e-3;
  o.weight_decay = 0;
  o.batch_size = 32;
  o.epochs = epochs;
  o.seed = seed;
  return o;
}

}  // namespace modeldna::testing
