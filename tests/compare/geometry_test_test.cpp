// The geometry tests (geometry_test.h): their features are unchanged by a
// rotation of the other axis (checked against the rotation applied here), and
// their p-values are calibrated when the tested axis is exchangeable, even
// when both models share structure along the other axis (what two models
// trained on the same data do).
#include "geometry_test.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <random>

#include "modeldna/io/open_store.h"
#include "modeldna/io/safetensors.h"
#include "test_support.h"

namespace modeldna::compare::detail {
namespace {

using Matrix = std::vector<float>;  // row-major

Matrix gaussian(std::size_t rows, std::size_t cols, std::mt19937_64& rng) {
  std::normal_distribution<double> normal;
  Matrix m(rows * cols);
  for (float& v : m) v = static_cast<float>(normal(rng));
  return m;
}

// a (n x k) times b (k x p).
Matrix product(const Matrix& a, const Matrix& b, std::size_t n, std::size_t k, std::size_t p) {
  Matrix c(n * p, 0.0f);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t l = 0; l < k; ++l)
      for (std::size_t j = 0; j < p; ++j) c[i * p + j] += a[i * k + l] * b[l * p + j];
  return c;
}

Matrix transpose(const Matrix& a, std::size_t rows, std::size_t cols) {
  Matrix t(a.size());
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t j = 0; j < cols; ++j) t[j * rows + i] = a[i * cols + j];
  return t;
}

// A random orthogonal matrix, in float.
Matrix rotation(std::size_t n, std::mt19937_64& rng) {
  const auto r = testing::random_orthogonal(n, rng);
  return Matrix(r.begin(), r.end());
}

TEST(GeometryTest, CosineFeaturesIgnoreARotationOfTheSpan) {
  std::mt19937_64 rng(5);
  const std::size_t count = 20, span = 48;
  const auto rows = gaussian(count, span, rng);
  const auto rotated = product(rows, rotation(span, rng), count, span, span);
  const auto a = cosine_features(rows, count, span), b = cosine_features(rotated, count, span);
  ASSERT_EQ(a.size(), (count / 2) * (count / 2));
  for (std::size_t k = 0; k < a.size(); ++k) EXPECT_NEAR(a[k], b[k], 1e-5);
  // Tested vector 0 is row 1, anchor 1 is row 2: their cosine, computed here.
  double dot = 0, n1 = 0, n2 = 0;
  for (std::size_t j = 0; j < span; ++j) {
    dot += static_cast<double>(rows[span + j]) * rows[2 * span + j];
    n1 += static_cast<double>(rows[span + j]) * rows[span + j];
    n2 += static_cast<double>(rows[2 * span + j]) * rows[2 * span + j];
  }
  EXPECT_NEAR(a[1], dot / std::sqrt(n1 * n2), 1e-6);
}

TEST(GeometryTest, RoleTableCoversTheLlamaBlock) {
  UnitShape square;
  square.units = square.inputs = 64;
  square.dims = {64, 64};
  EXPECT_EQ(geometry_axes("layers.3.mlp.gate_proj.weight", square).size(), 2u);
  EXPECT_EQ(geometry_axes("layers.3.mlp.down_proj.weight", square).size(), 2u);
  EXPECT_EQ(geometry_axes("layers.3.self_attn.q_proj.weight", square), std::vector<GeometryAxis>{GeometryAxis::Inputs});
  EXPECT_EQ(geometry_axes("layers.3.self_attn.o_proj.weight", square), std::vector<GeometryAxis>{GeometryAxis::Units});
  EXPECT_TRUE(geometry_axes("embed_tokens.weight", square).empty());
  EXPECT_TRUE(geometry_axes("conv1.weight", square).empty());
  EXPECT_EQ(input_gain_of("layers.3.mlp.up_proj.weight"), "layers.3.post_attention_layernorm.weight");
  EXPECT_EQ(input_gain_of("layers.3.mlp.down_proj.weight"), std::nullopt);
  EXPECT_TRUE(scalable_span("layers.3.mlp.down_proj.weight", GeometryAxis::Units));
  EXPECT_FALSE(scalable_span("layers.3.mlp.down_proj.weight", GeometryAxis::Inputs));
}

struct Pair {
  io::TensorStore source, target;
};

Pair stores(const Matrix& s, const Matrix& t, int64_t rows, int64_t cols, const std::string& dir) {
  auto write = [&](const Matrix& m, const std::string& name) {
    const std::string path = dir + "/" + name + ".safetensors";
    io::write_safetensors(path, {{"model.layers.0.mlp.down_proj.weight", io::DType::F32, {rows, cols}, m.data(), m.size() * 4}});
    return io::open_store(path);
  };
  return {write(s, "source"), write(t, "target")};
}

// Independent pairs whose tested axis is exchangeable while both share the
// covariance of the other axis: the count of p < 0.05 and < 0.01 over 300
// pairs stays within the binomial bound at level kFalseFailure; the seeds are
// fixed, so the test is deterministic. MODELDNA_CALIBRATION_PAIRS raises the
// count for a benchmark run (BENCHMARKS.md).
constexpr double kFalseFailure = 1e-4;
TEST(GeometryTest, IndependentPairsSharingStructureAreCalibrated) {
  const std::string dir = testing::fresh_temp_dir();
  const int64_t exchangeable = 128, span = 96, rank = 12;
  std::mt19937_64 rng(17);
  for (const auto axis : {GeometryAxis::Units, GeometryAxis::Inputs}) {
    SCOPED_TRACE(axis == GeometryAxis::Units ? "units" : "inputs");
    const auto shared = gaussian(rank, span, rng);  // both models' vectors live near one subspace
    int below_5 = 0, below_1 = 0;
    const char* env = std::getenv("MODELDNA_CALIBRATION_PAIRS");
    const int pairs = env ? std::max(300, std::atoi(env)) : 300;
    for (int k = 0; k < pairs; ++k) {
      auto draw = [&] {
        auto m = product(gaussian(exchangeable, rank, rng), shared, exchangeable, rank, span);
        const auto noise = gaussian(exchangeable, span, rng);
        for (std::size_t i = 0; i < m.size(); ++i) m[i] += 0.3f * noise[i];
        // Units: rows exchangeable; inputs: the same matrix transposed.
        return axis == GeometryAxis::Units ? m : transpose(m, exchangeable, span);
      };
      const auto s = draw(), t = draw();
      const int64_t rows = axis == GeometryAxis::Units ? exchangeable : span, cols = axis == GeometryAxis::Units ? span : exchangeable;
      const auto p = stores(s, t, rows, cols, dir);
      GeometryOperand so{&p.source, &p.source.tensors()[0], unit_shape(p.source.tensors()[0]), {}, false};
      GeometryOperand to{&p.target, &p.target.tensors()[0], unit_shape(p.target.tensors()[0]), {}, false};
      const auto e = geometry_test(so, to, axis, 128, 1000 + static_cast<uint64_t>(k));
      ASSERT_TRUE(e.has_value());
      EXPECT_EQ(e->tested, 64);
      below_5 += e->test.log10_p < std::log10(0.05);
      below_1 += e->test.log10_p < std::log10(0.01);
    }
    std::cout << "independent pairs, p < 0.05: " << below_5 << " of " << pairs << "; p < 0.01: " << below_1 << "\n";
    EXPECT_LE(below_5, testing::binomial_upper_bound(pairs, 0.05, kFalseFailure)) << below_5;
    EXPECT_LE(below_1, testing::binomial_upper_bound(pairs, 0.01, kFalseFailure)) << below_1;
    // Not conservative to the point of uselessness either (a rate well below
    // 5% would show a null wider than the truth).
    EXPECT_GE(below_5, pairs * 0.05 - 3.5 * std::sqrt(pairs * 0.05 * 0.95)) << below_5;
  }
}

// The same pairs with the target a rotated copy of the source: derived far
// beyond any level, and unchanged features.
TEST(GeometryTest, ARotatedCopyIsDerived) {
  const std::string dir = testing::fresh_temp_dir();
  std::mt19937_64 rng(23);
  const int64_t units = 128, span = 96;
  const auto s = gaussian(units, span, rng);
  const auto t = product(s, rotation(span, rng), units, span, span);
  const auto p = stores(s, t, units, span, dir);
  GeometryOperand so{&p.source, &p.source.tensors()[0], unit_shape(p.source.tensors()[0]), {}, false};
  GeometryOperand to{&p.target, &p.target.tensors()[0], unit_shape(p.target.tensors()[0]), {}, false};
  const auto e = geometry_test(so, to, GeometryAxis::Units, 128, 9);
  ASSERT_TRUE(e.has_value());
  EXPECT_LT(e->test.log10_p, -10);
  EXPECT_LT(e->relative_difference, 1e-3);  // float32 rounding of the rotated copy (4e-5 here)
}

}  // namespace
}  // namespace modeldna::compare::detail
