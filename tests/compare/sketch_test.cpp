// Sketches: compare's test on a few kilobytes per model gives compare's
// answer (the same samples, the same statistic), and the choice of sketched
// tensors follows the documented rule.
#include "modeldna/compare/sketch.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "modeldna/compare/compare.h"
#include "modeldna/core/error.h"
#include "modeldna/io/open_store.h"
#include "modeldna/io/safetensors.h"
#include "test_support.h"

namespace modeldna::compare {
namespace {

std::string fixture(const std::string& name) { return std::string(MODELDNA_SOURCE_DIR) + "/tests/compare/fixtures/" + name; }

ModelSketch sketch(const std::string& name) { return sketch_store(io::open_store(fixture(name)), {}); }

TEST(Sketch, DerivedCopiesInAnyFormatAreSignificantAndAnIndependentModelIsNot) {
  const auto parent = sketch("parent.pt");
  ASSERT_EQ(parent.tensors.size(), 4u);
  const std::map<std::string, Relation> relation = {{"parent.onnx", Relation::Converted},
                                                    {"parent_q8_0.gguf", Relation::Quantized},
                                                    {"parent_tfjs", Relation::Converted},
                                                    {"finetuned.pt", Relation::FineTuned}};
  for (const auto& [target, expected] : relation) {
    SCOPED_TRACE(target);
    const auto c = compare_sketches(parent, sketch(target));
    EXPECT_EQ(c.relation, expected);
    EXPECT_EQ(c.tested, 4);
    EXPECT_LT(c.log10_p, -10);
    EXPECT_GT(c.closeness, 0.9);
    EXPECT_TRUE(c.derived);
  }
  const auto independent = compare_sketches(parent, sketch("independent.pt"));
  EXPECT_EQ(independent.tested, 4);
  EXPECT_GT(independent.log10_p, std::log10(0.01));
  EXPECT_LT(independent.closeness, 0.5);
  EXPECT_FALSE(independent.derived);
  EXPECT_EQ(independent.relation, Relation::None);
}

// One small layer (4 units: its relabellings give p no lower than 1/2001)
// holding `values`, as sketch_store would record it.
ModelSketch small_layer(const std::vector<float>& values) {
  ModelSketch s;
  TensorSketch t;
  t.name = "head.weight";
  t.dims = {4, 32};
  t.units = 4;
  t.inputs = 32;
  t.set_values(values);
  t.distinct_sampled = static_cast<int64_t>(std::set<float>(values.begin(), values.end()).size());
  s.tensors.push_back(std::move(t));
  return s;
}

// A copy is a typed finding, not an invented p-value (issue 27, item 4): the
// p stays what the relabelling test can give, the copy is derived all the
// same; a layer of few distinct values equal in both is no proof of a copy.
TEST(Sketch, ACopyIsAFindingWithTheTestedPValue) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  std::vector<float> values(4 * 32);
  for (float& v : values) v = normal(rng);
  const auto copy = compare_sketches(small_layer(values), small_layer(values));
  EXPECT_TRUE(copy.copied);
  EXPECT_TRUE(copy.derived);
  ASSERT_EQ(copy.pairs.size(), 1u);
  EXPECT_TRUE(copy.pairs[0].copied);
  EXPECT_GE(copy.log10_p, std::log10(1.0 / 2001) - 1e-9) << "a p-value the test cannot give";
  EXPECT_EQ(copy.pairs[0].verdict, LayerVerdict::FromSource);
  std::vector<float> few(4 * 32);
  for (std::size_t k = 0; k < few.size(); ++k) few[k] = static_cast<float>(k % 3);
  EXPECT_FALSE(compare_sketches(small_layer(few), small_layer(few)).copied);
}

TEST(Sketch, GivesTheStatisticCompareGivesOnTheSameSample) {
  CompareOptions o;
  o.max_units = 32;
  o.max_inputs = 32;
  o.match_permutations = false;
  const auto files = compare_weights(io::open_store(fixture("parent.pt")), io::open_store(fixture("finetuned.pt")), o);
  const auto source = sketch("parent.pt"), target = sketch("finetuned.pt");
  const auto sketches = compare_sketches(source, target);
  ASSERT_EQ(static_cast<int64_t>(sketches.pairs.size()), files.tested_layers);
  for (std::size_t k = 0; k < sketches.pairs.size(); ++k) {
    SCOPED_TRACE(files.layers[k].target);
    EXPECT_EQ(target.tensors[sketches.pairs[k].target].name, files.layers[k].target);
    EXPECT_NEAR(sketches.pairs[k].similarity, files.layers[k].similarity, 1e-6);
  }
}

TEST(Sketch, WholeTensorStatisticsAreRecorded) {
  const auto store = io::open_store(fixture("parent.pt"));
  const auto s = sketch_store(store, {});
  for (const auto& t : s.tensors) {
    SCOPED_TRACE(t.name);
    const auto values = store.read_f32(*store.find(t.name));
    double mean = 0;
    for (float v : values) mean += v;
    mean /= static_cast<double>(values.size());
    double m2 = 0, m4 = 0;
    for (float v : values) m2 += (v - mean) * (v - mean), m4 += std::pow(v - mean, 4);
    m2 /= static_cast<double>(values.size());
    m4 /= static_cast<double>(values.size());
    EXPECT_NEAR(t.stddev, std::sqrt(m2), 1e-5 * std::sqrt(m2));
    EXPECT_NEAR(t.kurtosis, m4 / (m2 * m2), 1e-3 * m4 / (m2 * m2));
    EXPECT_EQ(t.zero_fraction, 0.0);
    EXPECT_EQ(static_cast<std::size_t>(t.units * t.inputs), t.values().size());
  }
}

TEST(Sketch, TheFirstHalfOfTheBudgetThenEvenlySpaced) {
  const std::string dir = modeldna::testing::fresh_temp_dir();
  std::vector<std::vector<float>> values;
  std::vector<io::TensorToWrite> tensors;
  for (int k = 0; k < 40; ++k) {
    std::vector<float> v(8 * 8);
    for (std::size_t i = 0; i < v.size(); ++i) {
      const double x = static_cast<double>(i);
      v[i] = static_cast<float>(std::sin(1.7 * (k + 1) * (x + 3) + k * x * x));
    }
    values.push_back(std::move(v));
  }
  for (int k = 0; k < 40; ++k) {
    char name[32];
    std::snprintf(name, sizeof name, "layer%02d.weight", k);
    tensors.push_back({name, io::DType::F32, {8, 8}, values[static_cast<std::size_t>(k)].data(), 64 * 4});
  }
  io::write_safetensors(dir + "/m.safetensors", tensors);
  SketchOptions o;
  o.max_tensors = 8;
  const auto s = sketch_store(io::open_store(dir + "/m.safetensors"), o);
  EXPECT_EQ(s.candidates, 40);
  std::vector<int64_t> orders;
  for (const auto& t : s.tensors) orders.push_back(t.order);
  // 4 first, then 4 + k * 36 / 4 for k = 0..3.
  EXPECT_EQ(orders, (std::vector<int64_t>{0, 1, 2, 3, 4, 13, 22, 31}));
}

TEST(Sketch, SketchesDrawnWithDifferentSeedsAreRefused) {
  SketchOptions other;
  other.seed = 1;
  EXPECT_THROW(compare_sketches(sketch("parent.pt"), sketch_store(io::open_store(fixture("parent.pt")), other)),
               UsageError);
}

}  // namespace
}  // namespace modeldna::compare
