#include "registry.h"

#include <algorithm>
#include <cmath>

namespace modeldna::nn::arch {

const std::vector<ArchEntry>& registry() {
  static const std::vector<ArchEntry> entries = {
      {"mlp", "3 fully connected layers (256w, 128w units)", make_mlp},
      {"lenet", "LeNet-like CNN: 2 conv (16w, 32w) + 3 fully connected", make_lenet},
      {"alexnet", "AlexNet-style CNN: 5 conv (64w..256w) + 3 fully connected (512w)", make_alexnet},
      {"resnet18", "CIFAR-style ResNet-18: 3x3 stem, 4 stages x 2 basic blocks (64w..512w), no max-pool",
       make_resnet18},
  };
  return entries;
}

int64_t scaled(int64_t base, double width) {
  return std::max<int64_t>(1, static_cast<int64_t>(std::lround(static_cast<double>(base) * width)));
}

}  // namespace modeldna::nn::arch
