// File: modeldna/nn/input_spec.h
// What a model reads, in one type: float images [n, channels, size, size] or
// token ids [n, seq_len] over a vocabulary. An architecture has one
// (ArchConfig::input), a batch of inputs has one (InputSpec::of_batch), an
// MGMP detector records its probes' one (docs/spec/detector-v1.md "input").
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "modeldna/data/modality.h"

namespace modeldna::nn {

struct InputSpec {
  data::Modality modality = data::Modality::Image;
  // The other modality's fields are 0: image() and text() say which apply.
  int64_t in_channels = 1, image_size = 28;  // images
  int64_t vocab_size = 0, seq_len = 0;       // texts (vocab_size 0: unknown, for a batch)

  static InputSpec image(int64_t in_channels, int64_t image_size);
  static InputSpec text(int64_t vocab_size, int64_t seq_len);

  bool operator==(const InputSpec& other) const;
  bool operator!=(const InputSpec& other) const { return !(*this == other); }
  /// "1x28x28 images", "64-token texts (vocabulary 4000)".
  std::string describe() const;
  /// The shape of a batch of n inputs.
  std::vector<int64_t> shape(int64_t n) const;
  /// Whether `batch` holds inputs of this spec (shape and dtype; token ids
  /// are not range-checked here).
  bool matches_batch(const torch::Tensor& batch) const;
  /// UsageError when a field is out of range for a model's input, or one of
  /// the other modality's fields is set: the one place these ranges live.
  void check() const;
  nlohmann::json to_json() const;
  /// UsageError for a missing, ill-typed or out-of-range field.
  static InputSpec from_json(const nlohmann::json& j);
  /// The spec of a batch: float [n, c, h, h] images or int64 [n, len] token
  /// ids (vocabulary unknown); UsageError for anything else.
  static InputSpec of_batch(const torch::Tensor& batch);
};

}  // namespace modeldna::nn
