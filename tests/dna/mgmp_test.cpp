#include "modeldna/dna/mgmp.h"

#include <filesystem>
#include <fstream>

#include "modeldna/core/error.h"
#include "modeldna/core/json_file.h"
#include "modeldna/nn/train.h"
#include "network_helpers.h"
#include "test_support.h"

namespace modeldna::dna {
namespace {

nn::NetworkPtr mlp(int64_t classes, uint64_t seed) {
  return testing::seeded_network(testing::arch_config("mlp", 0.125, classes), seed);
}

// A "fine-tuned" copy: the source's weights, nudged.
nn::NetworkPtr nudged_copy(const nn::Network& source, uint64_t seed) {
  auto copy = nn::clone_network(source);
  torch::manual_seed(seed);
  torch::NoGradGuard no_grad;
  for (auto& p : copy->parameters()) p.add_(torch::randn_like(p) * 0.02);
  return copy;
}

data::Dataset random_pool(int64_t n) {
  torch::manual_seed(7);
  return {"pool", torch::rand({n, 1, 28, 28}) * 2 - 1, torch::zeros({n}, torch::kInt64), 10};
}

MgmpSettings quick_settings() {
  MgmpSettings s;
  s.train_probes = 200;
  s.verify_probes = 100;
  s.batch_size = 50;
  s.generator_epochs = 2;
  s.classifier_epochs = 15;
  return s;
}

TEST(MgmpShapes, GeneratorOutputsUnitVectors) {
  DnaGenerator g(1, 10);
  g->eval();
  const auto out = g->forward(torch::randn({4, 1, 28, 28}));
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{4, 10}));
  EXPECT_TRUE(torch::allclose(out.norm(2, 1), torch::ones({4}), 1e-5, 1e-5));
}

// The reference classifier: 20->512->256->128->64->2 = 10,752 + 131,328 + 32,896 + 8,256 + 130 = 183,362.
TEST(MgmpShapes, ClassifierMatchesTheReference) {
  ProvenanceClassifier c(10);
  int64_t count = 0;
  for (const auto& p : c->parameters()) count += p.numel();
  EXPECT_EQ(count, 183362);
  for (const auto& named : c->named_parameters())
    if (named.key().find("bias") != std::string::npos) EXPECT_EQ(named.value().abs().sum().item<float>(), 0.0f);
  EXPECT_EQ(c->forward(torch::randn({3, 10}), torch::randn({3, 10})).sizes(), (std::vector<int64_t>{3, 2}));
}

class MgmpTrained : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    source_ = mlp(10, 1);
    TrainingGroup g{"src", source_, {}, {}};
    for (uint64_t i = 0; i < 3; ++i) {
      g.homologous.emplace_back("h" + std::to_string(i), nudged_copy(*source_, 100 + i));
      g.non_homologous.emplace_back("n" + std::to_string(i), mlp(10, 200 + i));
    }
    detector_ = std::make_unique<MgmpDetector>(MgmpDetector::train({g}, random_pool(400), quick_settings()));
  }
  static void TearDownTestSuite() { detector_.reset(); }
  static nn::NetworkPtr source_;
  static std::unique_ptr<MgmpDetector> detector_;
};
nn::NetworkPtr MgmpTrained::source_;
std::unique_ptr<MgmpDetector> MgmpTrained::detector_;

TEST_F(MgmpTrained, SeparatesANudgedCopyFromAnIndependentModel) {
  const auto derived = detector_->verify(*source_, *nudged_copy(*source_, 999));
  const auto independent = detector_->verify(*source_, *mlp(10, 998));
  EXPECT_TRUE(derived.homologous);
  EXPECT_FALSE(independent.homologous);
  EXPECT_GT(derived.probability, independent.probability);
  EXPECT_LE(derived.vote_low, derived.vote_fraction);
  EXPECT_GE(derived.vote_high, derived.vote_fraction);
  EXPECT_EQ(derived.probes, 100);
}

TEST_F(MgmpTrained, SaveAndLoadGiveTheSameVerdicts) {
  const std::string dir = testing::fresh_temp_dir() + "/det";
  detector_->save(dir);
  const auto loaded = MgmpDetector::load(dir);
  const auto target = nudged_copy(*source_, 5);
  EXPECT_TRUE(torch::equal(detector_->verify(*source_, *target).per_probe, loaded.verify(*source_, *target).per_probe));
  EXPECT_TRUE(torch::equal(loaded.probes(), detector_->probes()));
}

TEST_F(MgmpTrained, RefusesADifferentOutputSize) {
  auto five = mlp(5, 3);
  EXPECT_THROW_MSG(detector_->verify(*source_, *five), UsageError, "has 5 outputs");
}

TEST_F(MgmpTrained, LoadRefusesBrokenDetectorFiles) {
  const std::string dir = testing::fresh_temp_dir() + "/det";
  detector_->save(dir);
  auto doc = read_json_file(dir + "/detector.json");
  doc["dna_dim"] = 7;  // tensors no longer fit
  write_json_file(dir + "/detector.json", doc);
  EXPECT_THROW_MSG(MgmpDetector::load(dir), FormatError, "detector.safetensors");
  testing::write_bytes(dir + "/detector.json", "{\"format\": 1");
  EXPECT_THROW_MSG(MgmpDetector::load(dir), FormatError, "invalid JSON");
  EXPECT_THROW_MSG(MgmpDetector::load(dir + "/missing"), FormatError, "cannot open");
}

}  // namespace
}  // namespace modeldna::dna
