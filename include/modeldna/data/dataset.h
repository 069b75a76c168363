// File: modeldna/data/dataset.h
// A labelled set of model inputs as tensors: images now, token ids later.
#pragma once

#include <torch/types.h>

#include <string>

#include "modeldna/data/image_set.h"

namespace modeldna::data {

struct Dataset {
  std::string name;
  torch::Tensor inputs;  // images: float [n, 1, 28, 28], scaled to [-1, 1]
  torch::Tensor labels;  // int64 [n]
  int64_t num_classes = 0;

  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
  /// The rows at `indices` (int64 [m]), same name and class count.
  Dataset select(const torch::Tensor& indices) const;
  /// Rows [begin, begin + count), clipped to the dataset.
  Dataset slice(int64_t begin, int64_t count) const;
};

/// Turns raw grey images into a Dataset: pixels / 255 mapped to [-1, 1].
Dataset to_dataset(const ImageSet& images, std::string name, int64_t num_classes);

}  // namespace modeldna::data
