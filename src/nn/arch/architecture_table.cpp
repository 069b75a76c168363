#include "architecture_table.h"

#include <algorithm>
#include <cmath>

#include "modeldna/data/task.h"

namespace modeldna::nn::arch {

const std::vector<ArchEntry>& registry() {
  constexpr auto kImage = data::Modality::Image;
  constexpr auto kText = data::Modality::Text;
  static const std::vector<ArchEntry> entries = {
      {"mlp", "3 fully connected layers (256w, 128w units)", kImage, {Head::Classify}, make_mlp},
      {"lenet", "LeNet-like CNN: 2 conv (16w, 32w) + 3 fully connected", kImage, {Head::Classify}, make_lenet},
      {"alexnet", "AlexNet-style CNN: 5 conv (64w..256w) + 3 fully connected (512w)", kImage, {Head::Classify},
       make_alexnet},
      {"resnet18", "CIFAR-style ResNet-18: 3x3 stem, 4 stages x 2 basic blocks (64w..512w), no max-pool", kImage,
       {Head::Classify}, make_resnet18},
      {"text-transformer",
       "BERT-like encoder: token + position embedding (64w), 2 blocks (4 heads, GELU feed-forward 128w), "
       "[CLS] pooler; head classify or masked-lm",
       kText, {Head::Classify, Head::MaskedLm}, make_text_transformer},
      {"text-cnn", "Kim-style 1-D CNN: embedding (64w), 3 conv (128w, kernels 3/5/7), masked max pool over time",
       kText, {Head::Classify}, make_text_cnn},
  };
  return entries;
}

const ArchEntry* find_arch(const std::string& name) {
  for (const auto& entry : registry())
    if (entry.name == name) return &entry;
  return nullptr;
}

int64_t scaled(int64_t base, double width) {
  return std::max<int64_t>(1, static_cast<int64_t>(std::lround(static_cast<double>(base) * width)));
}

}  // namespace modeldna::nn::arch
