// Hand-made sketches for the lineage tests: `tensors` tensors of 32 units x
// 32 inputs with standard normal values (their own seed), as compare's
// sketches of an unrelated model look.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "modeldna/compare/sketch.h"

namespace modeldna::lineage::testing {

inline compare::ModelSketch random_sketch(uint64_t seed, int tensors = 4) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  compare::ModelSketch s;
  for (int t = 0; t < tensors; ++t) {
    compare::TensorSketch x;
    x.name = "layer" + std::to_string(t) + ".weight";
    x.dims = {32, 32 + t};
    x.order = t;
    x.units = 32;
    x.inputs = 32;
    std::vector<float> values(32 * 32);
    for (float& v : values) v = normal(rng);
    x.set_values(std::move(values));
    x.stddev = 1;
    x.kurtosis = 3;
    x.distinct_sampled = 1024;
    s.tensors.push_back(std::move(x));
  }
  return s;
}

}  // namespace modeldna::lineage::testing
