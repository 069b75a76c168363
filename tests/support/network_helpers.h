// Small builders shared by the suites that need networks.
#pragma once

#include <string>

#include "modeldna/nn/network.h"

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

}  // namespace modeldna::testing
