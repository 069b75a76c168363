// The one table of architectures: a new architecture is one file in this
// folder plus one line in architecture_table.cpp.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "modeldna/nn/network.h"

namespace modeldna::nn::arch {

struct ArchEntry {
  std::string name;
  std::string description;
  data::Modality modality;
  std::vector<Head> heads;  // the heads it builds
  std::function<NetworkPtr(const ArchConfig&)> build;
};

const std::vector<ArchEntry>& registry();
/// The entry named `name`, or nullptr.
const ArchEntry* find_arch(const std::string& name);

NetworkPtr make_mlp(const ArchConfig& config);
NetworkPtr make_lenet(const ArchConfig& config);
NetworkPtr make_alexnet(const ArchConfig& config);
NetworkPtr make_resnet18(const ArchConfig& config);
NetworkPtr make_text_transformer(const ArchConfig& config);
NetworkPtr make_text_cnn(const ArchConfig& config);

/// round(base * width), at least 1.
int64_t scaled(int64_t base, double width);

}  // namespace modeldna::nn::arch
