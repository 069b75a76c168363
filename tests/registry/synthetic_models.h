// Small MLPs written as real safetensors files, for the registry's tests:
// unrelated models (independent seeds) and children (a parent's weights
// moved by noise, as fine-tuning moves them).
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "modeldna/io/safetensors.h"

namespace modeldna::registry {

using Tensors = std::vector<std::pair<std::string, std::vector<float>>>;
inline const std::vector<std::vector<int64_t>> kShapes = {{64, 48}, {64}, {64, 64}, {64}, {48, 64}, {48}, {10, 48}, {10}};
inline const char* const kNames[] = {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias",
                              "fc3.weight", "fc3.bias", "head.weight", "head.bias"};

inline Tensors random_model(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.1f);
  Tensors out;
  for (std::size_t i = 0; i < kShapes.size(); ++i) {
    int64_t n = 1;
    for (int64_t d : kShapes[i]) n *= d;
    std::vector<float> v(static_cast<std::size_t>(n));
    for (float& x : v) x = normal(rng);
    out.emplace_back(kNames[i], std::move(v));
  }
  return out;
}

// A fine-tune's footprint: every weight moved by relative noise `scale`.
inline Tensors perturbed(const Tensors& base, uint64_t seed, float scale) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.1f * scale);
  Tensors out = base;
  for (auto& [name, v] : out)
    for (float& x : v) x += normal(rng);
  return out;
}

inline std::string write_model(const std::string& path, const Tensors& tensors, const std::string& prefix = "") {
  std::vector<io::TensorToWrite> w;
  for (std::size_t i = 0; i < tensors.size(); ++i)
    w.push_back({prefix + tensors[i].first, io::DType::F32, kShapes[i], tensors[i].second.data(),
                 tensors[i].second.size() * sizeof(float)});
  io::write_safetensors(path, w);
  return path;
}

}  // namespace modeldna::registry
