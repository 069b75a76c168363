#include "modeldna/dna/mgmp.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <filesystem>
#include <functional>
#include <fstream>

#include <ATen/Parallel.h>

#include "modeldna/core/error.h"
#include "modeldna/core/json_file.h"
#include "modeldna/io/open_store.h"
#include "modeldna/nn/tensor_io.h"
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
  DnaGenerator g(nn::InputSpec{}, 10);
  g->eval();
  const auto out = g->forward(torch::randn({4, 1, 28, 28}));
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{4, 10}));
  EXPECT_TRUE(torch::allclose(out.norm(2, 1), torch::ones({4}), 1e-5, 1e-5));
}

TEST(MgmpShapes, TextGeneratorOutputsUnitVectors) {
  const auto text = nn::InputSpec::text(50, 12);
  DnaGenerator g(text, 10);
  g->eval();
  const auto out = g->forward(torch::randint(50, {4, 12}, torch::kInt64));
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
    if (named.key().find("bias") != std::string::npos) { EXPECT_EQ(named.value().abs().sum().item<float>(), 0.0f); }
  EXPECT_EQ(c->forward(torch::randn({3, 10}), torch::randn({3, 10})).sizes(), (std::vector<int64_t>{3, 2}));
}

// Ours: [a, b, |a-b|, a*b] doubles fc1's input, 40*512 + 512 = 20,992 weights there.
TEST(MgmpShapes, RelationFeaturesWidenOnlyTheFirstLayer) {
  ProvenanceClassifier c(10, PairFeatures::Relation);
  int64_t count = 0;
  for (const auto& p : c->parameters()) count += p.numel();
  EXPECT_EQ(count, 183362 - 10752 + 20992);
  EXPECT_EQ(c->forward(torch::randn({3, 10}), torch::randn({3, 10})).sizes(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(parse_pair_features("sum"), std::nullopt);
  EXPECT_EQ(parse_pair_features(pair_features_name(PairFeatures::Relation)), PairFeatures::Relation);
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

TEST_F(MgmpTrained, LoadingLeavesTheProcesssRandomStreamAlone) {
  const std::string dir = testing::fresh_temp_dir() + "/det";
  detector_->save(dir);
  torch::manual_seed(4242);
  const auto expected = torch::rand({8});
  torch::manual_seed(4242);
  const auto loaded = MgmpDetector::load(dir);
  EXPECT_TRUE(torch::equal(torch::rand({8}), expected));
}

TEST_F(MgmpTrained, RefusesADifferentOutputSize) {
  auto five = mlp(5, 3);
  EXPECT_THROW_MSG(detector_->verify(*source_, *five), UsageError, "has 5 outputs");
}

// verify runs the two forward passes side by side on half the threads each:
// the same readouts as one after the other, and a refusal on either side
// still reaches the caller.
TEST_F(MgmpTrained, SideBySideReadoutsMatchOneAfterTheOther) {
  const int threads = at::get_num_threads();
  at::set_num_threads(2);
  const auto target = nudged_copy(*source_, 6);
  const auto [s, t] = detector_->observe_pair(*source_, *target);
  EXPECT_TRUE(torch::allclose(s, detector_->observe(*source_), 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(t, detector_->observe(*target), 1e-5, 1e-6));
  auto five = mlp(5, 3);
  EXPECT_THROW_MSG(detector_->observe_pair(*source_, *five), UsageError, "has 5 outputs");
  EXPECT_THROW_MSG(detector_->observe_pair(*five, *source_), UsageError, "has 5 outputs");
  EXPECT_EQ(at::get_num_threads(), 2);
  at::set_num_threads(threads);
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

// Rewrites <dir>/detector.safetensors with `change` applied to its tensors.
void edit_tensors(const std::string& dir, const std::function<void(nn::NamedTensors&)>& change) {
  const std::string path = dir + "/detector.safetensors";
  nn::NamedTensors tensors;
  {
    const auto store = io::open_store(path);
    for (const auto& t : store.tensors()) tensors.emplace_back(t.name, nn::read_tensor(store, t.name, t.shape).clone());
  }
  change(tensors);
  nn::write_tensors(path, tensors, {{"modeldna.format", "modeldna-mgmp-detector"}});
}

torch::Tensor& tensor(nn::NamedTensors& tensors, const std::string& name) {
  for (auto& [n, t] : tensors)
    if (n == name) return t;
  throw std::runtime_error("no tensor " + name);
}

// Each refusal of the loader, one broken field at a time, on a fresh copy.
TEST_F(MgmpTrained, LoadRefusesEachBrokenField) {
  const std::string dir = testing::fresh_temp_dir() + "/det";
  auto fresh = [&] {
    std::filesystem::remove_all(dir);
    detector_->save(dir);
    return read_json_file(dir + "/detector.json");
  };
  auto with_json = [&](const std::function<void(nlohmann::json&)>& change) {
    auto doc = fresh();
    change(doc);
    write_json_file(dir + "/detector.json", doc);
  };
  const std::string json = dir + "/detector.json", tensors = dir + "/detector.safetensors";
  with_json([](auto& d) { d["format"] = "modeldna-zoo"; });
  EXPECT_THROW_MSG(MgmpDetector::load(dir), FormatError, json + ": not an MGMP detector");
  with_json([](auto& d) { d["version"] = 2; });
  EXPECT_THROW_MSG(MgmpDetector::load(dir), FormatError, json + ": unsupported detector version");
  with_json([](auto& d) { d["dna_dim"] = 0; });
  EXPECT_THROW_MSG(MgmpDetector::load(dir), FormatError, json + ": detector dimensions out of range");
  with_json([](auto& d) { d["input"]["modality"] = "audio"; });
  EXPECT_THROW_MSG(MgmpDetector::load(dir), FormatError, json + ": ");
  with_json([](auto& d) { d.erase("settings"); });
  EXPECT_THROW_MSG(MgmpDetector::load(dir), FormatError, json + ": malformed detector settings");
  with_json([](auto& d) { d["record"]["padding"] = std::string(1u << 20, 'x'); });
  EXPECT_THROW_MSG(MgmpDetector::load(dir), FormatError, "more than the 1048576-byte limit");

  fresh();
  edit_tensors(dir, [](auto& t) { tensor(t, "probes") = tensor(t, "probes").to(torch::kFloat64); });
  EXPECT_THROW_MSG(MgmpDetector::load(dir), FormatError, tensors + ": image probes must be F32");
  fresh();
  edit_tensors(dir, [](auto& t) { tensor(t, "probes")[0][0][0][0] = std::nanf(""); });
  EXPECT_THROW_MSG(MgmpDetector::load(dir), FormatError, tensors + ": probes hold NaN or infinite values");
  fresh();
  edit_tensors(dir, [](auto& t) { tensor(t, "probe_encoding")[3][1] = INFINITY; });
  EXPECT_THROW_MSG(MgmpDetector::load(dir), FormatError, tensors + ": probe_encoding holds NaN or infinite values");
  fresh();
  edit_tensors(dir, [](auto& t) { tensor(t, "probe_encoding") = tensor(t, "probe_encoding").narrow(0, 0, 10).clone(); });
  EXPECT_THROW_MSG(MgmpDetector::load(dir), FormatError, tensors + ": ");
  fresh();
  edit_tensors(dir, [](auto& t) { t.emplace_back("stowaway", torch::zeros({2})); });
  EXPECT_THROW_MSG(MgmpDetector::load(dir), FormatError, "stowaway");
}

// Readout::Features (ours): the DNA reads the logits and a fixed projection
// of what the last layer reads. The readout is exactly that, it survives a
// save and load, and models of another feature width are refused.
TEST(MgmpFeatures, ReadsLogitsAndProjectedFeaturesAndSurvivesALoad) {
  const auto source = mlp(10, 1);
  TrainingGroup g{"src", source, {}, {}};
  for (uint64_t i = 0; i < 2; ++i) {
    g.homologous.emplace_back("h" + std::to_string(i), nudged_copy(*source, 100 + i));
    g.non_homologous.emplace_back("n" + std::to_string(i), mlp(10, 200 + i));
  }
  auto settings = quick_settings();
  settings.readout = Readout::Features;
  settings.feature_dims = 8;
  settings.pair_features = PairFeatures::Relation;
  const auto detector = MgmpDetector::train({g}, random_pool(400), settings);
  EXPECT_EQ(detector.outputs(), 10);
  EXPECT_EQ(detector.dna_dim(), 18);

  const auto target = nudged_copy(*source, 7);
  const auto readout = detector.observe(*target);
  ASSERT_EQ(readout.sizes(), (std::vector<int64_t>{100, 18}));
  const auto direct = nn::predict(*target, detector.probes());
  EXPECT_TRUE(torch::allclose(readout.narrow(1, 0, 10), direct.logits));
  // The projected part, by hand: centre each probe's features, scale to unit
  // length, project on the stored directions.
  const std::string dir = testing::fresh_temp_dir() + "/det";
  detector.save(dir);
  const auto store = io::open_store(dir + "/detector.safetensors");
  const int64_t width = direct.features.size(1);
  const auto projection = nn::read_tensor(store, "readout_projection." + std::to_string(width), {width, 8});
  auto f = direct.features - direct.features.mean(1, true);
  f = f / f.norm(2, 1, true);
  EXPECT_TRUE(torch::allclose(readout.narrow(1, 10, 8), f.matmul(projection), 1e-4, 1e-5));

  const auto loaded = MgmpDetector::load(dir);
  EXPECT_TRUE(torch::equal(loaded.verify(*source, *target).per_probe, detector.verify(*source, *target).per_probe));
  auto wider = testing::seeded_network(testing::arch_config("mlp", 0.25, 10), 3);
  EXPECT_THROW_MSG(loaded.verify(*source, *wider), UsageError, "a width the detector has not seen");

  edit_tensors(dir, [&](auto& t) { tensor(t, "readout_projection." + std::to_string(width))[0][0] = std::nanf(""); });
  EXPECT_THROW_MSG(MgmpDetector::load(dir), FormatError, "must hold finite F32 values");
  detector.save(dir);
  edit_tensors(dir, [&](auto& t) {
    for (auto& [name, value] : t)
      if (name == "readout_projection." + std::to_string(width)) name = "readout_projection.0x10";
  });
  EXPECT_THROW_MSG(MgmpDetector::load(dir), FormatError, "is not a readout projection");
  detector.save(dir);
  edit_tensors(dir, [&](auto& t) {
    t.erase(std::remove_if(t.begin(), t.end(), [](const auto& nt) { return nt.first.rfind("readout_projection.", 0) == 0; }),
            t.end());
  });
  EXPECT_THROW_MSG(MgmpDetector::load(dir), FormatError, "needs a readout_projection tensor");
}

// The schedules, read off the saved networks: the tensors of a detector
// trained with `settings`, by name.
std::map<std::string, torch::Tensor> trained_state(const MgmpSettings& settings) {
  const auto source = mlp(10, 1);
  TrainingGroup g{"src", source, {}, {}};
  for (uint64_t i = 0; i < 2; ++i) {
    g.homologous.emplace_back("h" + std::to_string(i), nudged_copy(*source, 100 + i));
    g.non_homologous.emplace_back("n" + std::to_string(i), mlp(10, 200 + i));
  }
  const std::string dir = testing::fresh_temp_dir() + "/det";
  MgmpDetector::train({g}, random_pool(400), settings).save(dir);
  const auto store = io::open_store(dir + "/detector.safetensors");
  std::map<std::string, torch::Tensor> out;
  for (const auto& t : store.tensors()) out[t.name] = nn::read_tensor(store, t.name, t.shape).clone();
  return out;
}

bool is_batchnorm_statistic(const std::string& name) {
  for (const char* suffix : {"running_mean", "running_var", "num_batches_tracked"})
    if (name.size() > std::strlen(suffix) && name.compare(name.size() - std::strlen(suffix), std::string::npos, suffix) == 0)
      return true;
  return false;
}

// Which tensors under `prefix` differ between two detectors: (weights, statistics).
std::pair<std::vector<std::string>, std::vector<std::string>> changed(const std::map<std::string, torch::Tensor>& a,
                                                                      const std::map<std::string, torch::Tensor>& b,
                                                                      const std::string& prefix) {
  std::pair<std::vector<std::string>, std::vector<std::string>> out;
  for (const auto& [name, t] : a) {
    if (name.rfind(prefix, 0) != 0 || torch::equal(t, b.at(name))) continue;
    (is_batchnorm_statistic(name) ? out.second : out.first).push_back(name);
  }
  return out;
}

std::size_t weight_count(const std::map<std::string, torch::Tensor>& state, const std::string& prefix) {
  std::size_t n = 0;
  for (const auto& [name, t] : state) n += name.rfind(prefix, 0) == 0 && !is_batchnorm_statistic(name);
  return n;
}

// Stage 2 steps the classifier only: the generator's weights are those stage
// 1 left, while its BatchNorm statistics keep moving (it stays in train mode,
// as in the reference).
TEST(MgmpSchedules, StageTwoLeavesTheGeneratorsWeightsAndMovesItsStatistics) {
  auto settings = quick_settings();
  settings.classifier_epochs = 0;
  const auto after_stage_one = trained_state(settings);
  settings.classifier_epochs = 2;
  const auto after_stage_two = trained_state(settings);
  const auto [generator_weights, generator_statistics] = changed(after_stage_one, after_stage_two, "generator.");
  EXPECT_TRUE(generator_weights.empty()) << generator_weights.front();
  EXPECT_FALSE(generator_statistics.empty());
  EXPECT_EQ(changed(after_stage_one, after_stage_two, "classifier.").first.size(),
            weight_count(after_stage_one, "classifier."));

  // And stage 1 left the classifier as it was initialised.
  settings.generator_epochs = 0;
  settings.classifier_epochs = 0;
  const auto untrained = trained_state(settings);
  EXPECT_TRUE(changed(untrained, after_stage_one, "classifier.").first.empty());
  EXPECT_EQ(changed(untrained, after_stage_one, "generator.").first.size(), weight_count(untrained, "generator."));
}

// The joint schedule steps both networks on the summed loss.
TEST(MgmpSchedules, JointTrainsBothNetworks) {
  auto settings = quick_settings();
  settings.schedule = Schedule::Joint;
  settings.generator_epochs = settings.classifier_epochs = 0;
  const auto untrained = trained_state(settings);
  settings.generator_epochs = settings.classifier_epochs = 1;
  const auto trained = trained_state(settings);
  for (const std::string prefix : {"generator.", "classifier."}) {
    SCOPED_TRACE(prefix);
    EXPECT_EQ(changed(untrained, trained, prefix).first.size(), weight_count(untrained, prefix));
  }
}

// Training and verification probes never share an input, and the detector
// records exactly the verification part of the split it trains with.
TEST(MgmpProbes, TrainingAndVerificationProbesAreDisjoint) {
  torch::manual_seed(11);
  const auto split = split_probe_pool(50, 30, 15);
  ASSERT_EQ(split.train.numel(), 30);
  ASSERT_EQ(split.verify.numel(), 15);
  std::set<int64_t> seen;
  for (const auto& part : {split.train, split.verify})
    for (int64_t i = 0; i < part.numel(); ++i) {
      const int64_t index = part[i].item<int64_t>();
      EXPECT_TRUE(index >= 0 && index < 50);
      EXPECT_TRUE(seen.insert(index).second) << "pool input " << index << " drawn twice";
    }
  EXPECT_THROW_MSG(split_probe_pool(50, 40, 11), UsageError, "the probe pool holds 50 inputs, 51 are needed");

  auto settings = quick_settings();
  const auto pool = random_pool(400);
  torch::manual_seed(settings.seed);
  const auto expected = split_probe_pool(pool.size(), settings.train_probes, settings.verify_probes);
  const auto source = mlp(10, 1);
  TrainingGroup g{"src", source, {{"h", nudged_copy(*source, 2)}}, {{"n", mlp(10, 3)}}};
  settings.generator_epochs = settings.classifier_epochs = 0;
  EXPECT_TRUE(torch::equal(MgmpDetector::train({g}, pool, settings).probes(), pool.inputs.index_select(0, expected.verify)));
}

// Text models: token-id probes, the text generator, and a detector file that
// records them.
TEST(MgmpText, TrainsSavesAndLoadsOnTokenProbes) {
  auto arch = testing::arch_config("text-cnn", 0.25);
  arch.input = nn::InputSpec::text(64, 12);
  const auto source = testing::seeded_network(arch, 1);
  TrainingGroup g{"src", source, {}, {}};
  for (uint64_t i = 0; i < 2; ++i) {
    g.homologous.emplace_back("h" + std::to_string(i), nudged_copy(*source, 100 + i));
    g.non_homologous.emplace_back("n" + std::to_string(i), testing::seeded_network(arch, 200 + i));
  }
  torch::manual_seed(3);
  auto ids = torch::randint(5, 64, {400, 12}, torch::kInt64);
  ids.select(1, 0).fill_(2);  // [CLS]
  const data::Dataset pool{"token pool", ids, torch::zeros({400}, torch::kInt64), 10};
  auto settings = quick_settings();
  settings.classifier_epochs = 3;
  const auto detector = MgmpDetector::train({g}, pool, settings);
  EXPECT_EQ(detector.probes().sizes(), (std::vector<int64_t>{100, 12}));
  EXPECT_EQ(detector.probes().scalar_type(), torch::kInt64);

  const std::string dir = testing::fresh_temp_dir() + "/det";
  detector.save(dir);
  const auto loaded = MgmpDetector::load(dir);
  EXPECT_EQ(loaded.probe_format().to_json(), detector.probe_format().to_json());
  const auto target = nudged_copy(*source, 5);
  EXPECT_TRUE(torch::equal(detector.verify(*source, *target).per_probe, loaded.verify(*source, *target).per_probe));

  // Another tokenizer's models and image models do not read these probes.
  auto other_vocab = arch;
  other_vocab.input.vocab_size = 65;
  EXPECT_THROW_MSG(detector.verify(*source, *testing::seeded_network(other_vocab, 4)), UsageError,
                   "the detector's probes are 12-token texts (vocabulary 64)");
  EXPECT_THROW_MSG(detector.verify(*source, *mlp(10, 4)), UsageError, "reads 1x28x28 images");

  // The loader's refusals for token probes.
  edit_tensors(dir, [](auto& t) { tensor(t, "probes")[7][3] = 64; });
  EXPECT_THROW_MSG(MgmpDetector::load(dir), FormatError, "probe token ids outside the vocabulary of 64");
  edit_tensors(dir, [](auto& t) { tensor(t, "probes")[7][3] = -1; });
  EXPECT_THROW_MSG(MgmpDetector::load(dir), FormatError, "probe token ids outside the vocabulary of 64");
  edit_tensors(dir, [](auto& t) { tensor(t, "probes") = tensor(t, "probes").to(torch::kFloat32); });
  EXPECT_THROW_MSG(MgmpDetector::load(dir), FormatError, "text probes must be I64 token ids");
}

TEST(MgmpText, PoolMustHoldTheSourcesInputs) {
  auto arch = testing::arch_config("text-cnn", 0.25);
  arch.input = nn::InputSpec::text(64, 12);
  const auto source = testing::seeded_network(arch, 1);
  TrainingGroup g{"src", source, {{"h", nudged_copy(*source, 2)}}, {{"n", testing::seeded_network(arch, 3)}}};
  EXPECT_THROW_MSG(MgmpDetector::train({g}, random_pool(400), quick_settings()), UsageError,
                   "does not hold the sources' inputs (12-token texts (vocabulary 64))");
}

}  // namespace
}  // namespace modeldna::dna
