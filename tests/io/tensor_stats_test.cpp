// tensor_stats against hand-computed moments, on the in-place float32 path,
// the chunked path (float16 converted slice by slice) and with non-finite
// values, which are counted and kept out of the moments.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "modeldna/io/dequantize.h"
#include "modeldna/io/open_store.h"
#include "modeldna/io/safetensors.h"
#include "test_support.h"

namespace modeldna::io {
namespace {

TEST(TensorStats, HandComputedMoments) {
  // mean 4; deviations -3 -2 -1 0 6: variance 50 / 5 = 10,
  // fourth moment (81 + 16 + 1 + 0 + 1296) / 5 = 278.8, kurtosis 2.788.
  const std::vector<float> f32 = {1, 2, 3, 4, 10, NAN, INFINITY};
  std::vector<uint16_t> f16;
  for (float v : f32) f16.push_back(f32_to_f16(v));
  const std::string path = modeldna::testing::fresh_temp_dir() + "/m.safetensors";
  write_safetensors(path, {{"a", DType::F32, {7}, f32.data(), f32.size() * 4}, {"b", DType::F16, {7}, f16.data(), f16.size() * 2}});
  const auto store = open_store(path);
  for (const char* name : {"a", "b"}) {
    SCOPED_TRACE(name);
    // chunk 2 makes the float16 tensor go through four slices
    const auto s = tensor_stats(store, *store.find(name), 2);
    EXPECT_DOUBLE_EQ(s.mean, 4);
    EXPECT_NEAR(s.stddev, std::sqrt(10.0), 1e-12);
    EXPECT_NEAR(s.kurtosis, 2.788, 1e-9);
    EXPECT_EQ(s.min, 1);
    EXPECT_EQ(s.max, 10);
    EXPECT_EQ(s.zeros, 0);
    EXPECT_EQ(s.non_finite, 2);
  }
}

TEST(TensorStats, ManyValuesAgreeWithATwoPassComputation) {
  // Past one 4,096-value block of the vectorised lanes, with a ragged tail.
  std::mt19937 rng(3);
  std::student_t_distribution<float> heavy(5.0f);
  std::vector<float> v(10007);
  for (float& x : v) x = heavy(rng) * 0.02f + 0.001f;
  v[17] = v[5000] = 0;
  const std::string path = modeldna::testing::fresh_temp_dir() + "/m.safetensors";
  write_safetensors(path, {{"w", DType::F32, {10007}, v.data(), v.size() * 4}});
  const auto store = open_store(path);
  const auto s = tensor_stats(store, store.tensors()[0]);
  double mean = 0;
  for (float x : v) mean += x;
  mean /= static_cast<double>(v.size());
  double m2 = 0, m4 = 0;
  for (float x : v) m2 += (x - mean) * (x - mean), m4 += std::pow(x - mean, 4);
  m2 /= static_cast<double>(v.size());
  m4 /= static_cast<double>(v.size());
  EXPECT_NEAR(s.mean, mean, 1e-6 * std::sqrt(m2));
  EXPECT_NEAR(s.stddev, std::sqrt(m2), 1e-5 * std::sqrt(m2));
  EXPECT_NEAR(s.kurtosis, m4 / (m2 * m2), 1e-3 * m4 / (m2 * m2));
  EXPECT_GT(s.kurtosis, 4);  // Student t with 5 degrees of freedom: 9 in theory
  EXPECT_EQ(s.zeros, 2);
}

}  // namespace
}  // namespace modeldna::io
