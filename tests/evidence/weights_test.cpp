// The white-box detectors on untrained tiny networks: weights alone decide,
// so no training is needed.

#include "evidence_fixtures.h"
#include "modeldna/io/convert.h"
#include "modeldna/io/open_store.h"
#include "modeldna/nn/train.h"
#include "test_support.h"

namespace modeldna::evidence {
namespace {

using namespace testing;

// White-box detectors ignore the probes; one small set serves every test.
const ProbeSet& probes() {
  static const ProbeSet p = make_probe_set(random_images(8, 1), 8, 1);
  return p;
}

Evidence compare(const std::string& detector, const nn::NetworkPtr& a, const nn::NetworkPtr& b) {
  return make_detector(detector)->compare(probes(), observe("a", a, probes()), observe("b", b, probes()));
}

const nlohmann::json& layer(const Evidence& e, const std::string& name) {
  for (const auto& entry : e.details["layers"])
    if (entry["layer"] == name) return entry;
  throw std::runtime_error("no layer " + name + " in " + e.details.dump());
}

// Reorders the hidden units of a layer pair (the output units of `first`,
// hence the input columns of `second`): same function, scrambled weights.
nn::NetworkPtr permute_units(const nn::Network& net, const std::string& first, const std::string& second,
                             uint64_t seed) {
  auto copy = nn::clone_network(net);
  torch::NoGradGuard no_grad;
  auto params = copy->named_parameters();
  const int64_t units = params[first + ".weight"].size(0);
  torch::manual_seed(seed);
  const auto perm = torch::randperm(units, torch::kInt64);
  params[first + ".weight"].copy_(params[first + ".weight"].index_select(0, perm));
  params[first + ".bias"].copy_(params[first + ".bias"].index_select(0, perm));
  params[second + ".weight"].copy_(params[second + ".weight"].index_select(1, perm));
  return copy;
}

TEST(Weights, RanksCopiesAboveIndependentModels) {
  for (const auto& config : {tiny_mlp(), tiny_lenet()}) {
    const auto source = fresh(config, 1);
    const double self = compare("weights", source, nn::clone_network(*source)).score;
    const double near = compare("weights", source, perturbed(*source, 0.1, 2)).score;
    const double independent = compare("weights", source, fresh(config, 2)).score;
    EXPECT_NEAR(self, 1.0, 1e-9) << config.arch;
    EXPECT_GT(near, 0.95) << config.arch;
    EXPECT_LT(near, self) << config.arch;
    EXPECT_LT(std::abs(independent), 0.2) << config.arch;
  }
}

TEST(Weights, ReportsEveryLayer) {
  const auto source = fresh(tiny_mlp(), 1);
  const auto e = compare("weights", source, perturbed(*source, 0.1, 2));
  ASSERT_EQ(e.details["layers"].size(), 3u);
  EXPECT_EQ(e.details["layers"][0]["layer"], "fc1");
  EXPECT_GT(layer(e, "fc3")["cosine"].get<double>(), 0.9);
  EXPECT_EQ(e.details["tensors"].size(), 6u);
  EXPECT_EQ(e.details["tensors"][0]["tensor"], "fc1.weight");
}

TEST(Weights, ComparesOnlyTensorsOfTheSameShape) {
  // A new 5-class head on the source's body: fc3 differs, fc1 and fc2 are shared.
  const auto source = fresh(tiny_mlp(), 1);
  auto transfer = fresh(tiny_mlp(5), 2);
  copy_matching(*source, *transfer);
  for (const std::string name : {"weights", "weights-perm"}) {
    const auto e = compare(name, source, transfer);
    ASSERT_TRUE(e.applicable) << name;
    EXPECT_NEAR(e.score, 1.0, 1e-9) << name;
    EXPECT_EQ(e.details["layers"].size(), 2u) << name;
  }
  EXPECT_EQ(compare("weights", source, transfer).details["unmatched_tensors"], 2);
}

TEST(Weights, NotApplicableAcrossArchitectures) {
  for (const std::string name : {"weights", "weights-perm"}) {
    // fc2 and fc3 of these two have the same names and shapes: still no match.
    const auto e = compare(name, fresh(tiny_mlp(), 1), fresh(tiny_lenet(), 1));
    EXPECT_FALSE(e.applicable) << name;
    EXPECT_EQ(e.details["reason"], "different architectures ('mlp' and 'lenet')") << name;

    nn::ArchConfig wider = tiny_mlp();
    wider.width = 0.25;
    wider.num_classes = 7;  // no tensor keeps its shape
    const auto unmatched = compare(name, fresh(tiny_mlp(), 1), fresh(wider, 1));
    EXPECT_FALSE(unmatched.applicable) << name;
    EXPECT_NE(unmatched.details["reason"].get<std::string>().find("same name and shape"), std::string::npos);

    auto blind = observe("b", fresh(tiny_mlp(), 1), probes());
    blind.network = nullptr;  // black-box only: outputs without weights
    blind.store = nullptr;
    const auto no_weights =
        make_detector(name)->compare(probes(), observe("a", fresh(tiny_mlp(), 1), probes()), blind);
    EXPECT_FALSE(no_weights.applicable) << name;
    EXPECT_EQ(no_weights.details["reason"], "needs both models' weights");
  }
}

TEST(WeightsPerm, RecoversPermutedHiddenUnits) {
  const auto source = fresh(tiny_mlp(), 1);
  const auto permuted = permute_units(*source, "fc1", "fc2", 3);
  // Same function...
  EXPECT_TRUE(torch::allclose(nn::predict_logits(*source, probes().clean),
                              nn::predict_logits(*permuted, probes().clean), 1e-5, 1e-5));
  // ...but the plain comparison loses fc1 and fc2,
  const auto plain = compare("weights", source, permuted);
  EXPECT_LT(layer(plain, "fc1")["cosine"].get<double>(), 0.3);
  EXPECT_LT(plain.score, 0.7);
  // while matching the units gives fc1 back exactly. fc2's rows keep their
  // order but their columns are scrambled: matched layer by layer, fc2 stays
  // low (the documented simplification).
  const auto matched = compare("weights-perm", source, permuted);
  EXPECT_NEAR(layer(matched, "fc1")["cosine"].get<double>(), 1.0, 1e-9);
  EXPECT_GT(layer(matched, "fc1")["moved_units"].get<int64_t>(), 20);
  EXPECT_LT(layer(matched, "fc1")["cosine_unmatched"].get<double>(), 0.3);
  EXPECT_NEAR(layer(matched, "fc3")["cosine"].get<double>(), 1.0, 1e-9);
  EXPECT_GT(matched.score, plain.score);
}

TEST(WeightsPerm, RecoversPermutedConvChannels) {
  const auto source = fresh(tiny_lenet(), 1);
  const auto permuted = permute_units(*source, "conv1", "conv2", 4);
  const auto matched = compare("weights-perm", source, permuted);
  EXPECT_NEAR(layer(matched, "conv1")["cosine"].get<double>(), 1.0, 1e-9);
  EXPECT_LT(layer(compare("weights", source, permuted), "conv1")["cosine"].get<double>(), 0.5);
}

TEST(WeightsPerm, IndependentModelStaysLow) {
  // Matching lifts unrelated layers a little above 0 (the best of n! pairings).
  const auto source = fresh(tiny_mlp(), 1);
  const auto e = compare("weights-perm", source, fresh(tiny_mlp(), 2));
  EXPECT_LT(e.score, 0.4);
  EXPECT_GT(compare("weights-perm", source, perturbed(*source, 0.1, 2)).score, 0.95);
}

// Its speed is a benchmark's business (BENCHMARKS.md), not a timed test's.
TEST(WeightsPerm, Matches512Units) {
  nn::ArchConfig wide = tiny_mlp();
  wide.width = 2.0;  // fc1: 512 units
  const auto source = fresh(wide, 1);
  const auto permuted = permute_units(*source, "fc1", "fc2", 5);
  const auto e = compare("weights-perm", source, permuted);
  EXPECT_EQ(layer(e, "fc1")["units"], 512);
  EXPECT_NEAR(layer(e, "fc1")["cosine"].get<double>(), 1.0, 1e-9);
}

}  // namespace
}  // namespace modeldna::evidence

namespace modeldna::evidence {
namespace {

std::shared_ptr<const io::TensorStore> store_of(const std::string& path) {
  return std::make_shared<io::TensorStore>(io::open_store(path));
}

std::string fixture(const std::string& name) { return std::string(MODELDNA_SOURCE_DIR) + "/tests/io/fixtures/" + name; }

// Files modeldna cannot run still have weights: a torch.save checkpoint
// against its own conversion to float16 safetensors is the same model.
TEST(WeightsOnStores, ACheckpointAndItsConversionAgree) {
  const std::string converted = modeldna::testing::fresh_temp_dir() + "/f16.safetensors";
  io::convert_to_safetensors(io::open_store(fixture("state_dict.pt")), converted, io::ConvertDType::F16);
  const auto source = weights_only("pt", store_of(fixture("state_dict.pt")));
  const auto target = weights_only("f16", store_of(converted));
  for (const char* name : {"weights", "weights-perm"}) {
    const auto e = make_detector(name)->compare(probes(), source, target);
    ASSERT_TRUE(e.applicable) << name << ": " << e.details.dump();
    EXPECT_GT(e.score, 0.999) << name;
  }
  // BatchNorm statistics and the step counter are no evidence: left out.
  const auto e = make_detector("weights")->compare(probes(), source, target);
  for (const auto& t : e.details["tensors"]) {
    EXPECT_EQ(t["tensor"].get<std::string>().find("running"), std::string::npos);
    EXPECT_EQ(t["tensor"].get<std::string>().find("num_batches"), std::string::npos);
  }
}

TEST(WeightsOnStores, UnrelatedFilesHaveNoTensorInCommon) {
  const auto e = make_detector("weights")->compare(probes(), weights_only("pt", store_of(fixture("state_dict.pt"))),
                                                   weights_only("gguf", store_of(fixture("all_types.gguf"))));
  EXPECT_FALSE(e.applicable);
}

}  // namespace
}  // namespace modeldna::evidence
