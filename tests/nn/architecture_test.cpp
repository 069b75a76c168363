#include <torch/torch.h>

#include <string>
#include <vector>

#include "modeldna/core/error.h"
#include "modeldna/nn/network.h"
#include "modeldna/nn/train.h"
#include "network_helpers.h"
#include "test_support.h"

namespace modeldna::nn {
namespace {

bool same_tensor(const torch::Tensor& a, const torch::Tensor& b) { return torch::equal(a, b); }

// The architectures that read images (text ones: text_architecture_test.cpp).
std::vector<std::string> image_architectures() {
  std::vector<std::string> names;
  for (const auto& [name, description] : architectures())
    if (architecture_modality(name) == data::Modality::Image) names.push_back(name);
  return names;
}

TEST(Architecture, RegistryListsTheArchitectures) {
  std::vector<std::string> names;
  for (const auto& [name, description] : architectures()) {
    names.push_back(name);
    EXPECT_FALSE(description.empty()) << name;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"mlp", "lenet", "alexnet", "resnet18", "text-transformer", "text-cnn"}));
  EXPECT_EQ(image_architectures(), (std::vector<std::string>{"mlp", "lenet", "alexnet", "resnet18"}));
}

TEST(Architecture, EveryArchitectureMapsImagesToLogits) {
  torch::manual_seed(0);
  const auto x = torch::randn({3, 1, 28, 28});
  for (const auto& name : image_architectures()) {
    SCOPED_TRACE(name);
    auto net = make_network(testing::arch_config(name, 0.25, 7));
    EXPECT_EQ(net->config().arch, name);
    net->eval();
    torch::NoGradGuard no_grad;
    const auto y = net->forward(x);
    EXPECT_EQ(y.sizes().vec(), (std::vector<int64_t>{3, 7}));
    EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
  }
}

// What the last layer reads (MGMP's feature readout): one forward pass gives
// the logits predict_logits gives and features as wide as the head's input.
TEST(Architecture, PredictGivesTheLogitsAndWhatTheLastLayerReads) {
  torch::manual_seed(0);
  const auto x = torch::randn({5, 1, 28, 28});
  for (const auto& name : image_architectures()) {
    SCOPED_TRACE(name);
    auto net = make_network(testing::arch_config(name, 0.25, 7));
    const auto out = predict(*net, x, /*batch_size=*/2);
    EXPECT_TRUE(torch::allclose(out.logits, predict_logits(*net, x), 1e-5, 1e-6));
    const auto head = net->named_parameters()[net->layer_names().back() + ".weight"];
    EXPECT_EQ(out.features.sizes().vec(), (std::vector<int64_t>{5, head.size(1)}));
    torch::NoGradGuard no_grad;
    EXPECT_TRUE(torch::allclose(net->classify(out.features), out.logits, 1e-5, 1e-6));
  }
}

TEST(Architecture, LayerNamesRunFromInputToOutput) {
  EXPECT_EQ(make_network(testing::arch_config("mlp", 0.25))->layer_names(), (std::vector<std::string>{"fc1", "fc2", "fc3"}));
  EXPECT_EQ(make_network(testing::arch_config("lenet", 0.25))->layer_names(),
            (std::vector<std::string>{"conv1", "conv2", "fc1", "fc2", "fc3"}));
  const auto alexnet = make_network(testing::arch_config("alexnet", 0.125));
  EXPECT_EQ(alexnet->layer_names(),
            (std::vector<std::string>{"conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"}));
  EXPECT_EQ(alexnet->last_layers(3), (std::vector<std::string>{"fc6", "fc7", "fc8"}));
  const auto resnet = make_network(testing::arch_config("resnet18", 0.125));
  EXPECT_EQ(resnet->layer_names(),
            (std::vector<std::string>{"stem", "layer1_0", "layer1_1", "layer2_0", "layer2_1", "layer3_0", "layer3_1",
                                      "layer4_0", "layer4_1", "fc"}));
  EXPECT_EQ(resnet->last_layers(3), (std::vector<std::string>{"layer4_0", "layer4_1", "fc"}));
  EXPECT_EQ(resnet->last_layers(1), (std::vector<std::string>{"fc"}));
  EXPECT_TRUE(resnet->last_layers(0).empty());
  EXPECT_EQ(resnet->last_layers(10), resnet->layer_names());
}

TEST(Architecture, LastLayersRefusesMoreLayersThanTheNetworkHas) {
  const auto mlp = make_network(testing::arch_config("mlp", 0.25));
  EXPECT_THROW_MSG(mlp->last_layers(4), UsageError, "mlp has 3 layers, cannot take the last 4");
  EXPECT_THROW(mlp->last_layers(-1), UsageError);
}

TEST(Architecture, ParameterCountsMatchTheLayerShapes) {
  // mlp, width 1: 784 -> 256 -> 128 -> 10, each Linear has in*out weights + out biases.
  //   fc1: 784*256 + 256 = 200,960
  //   fc2: 256*128 + 128 =  32,896
  //   fc3: 128*10  + 10  =   1,290   total 235,146
  EXPECT_EQ(make_network(testing::arch_config("mlp", 1.0))->parameter_count(), 235146);
  // mlp, width 0.25: 784 -> 64 -> 32 -> 10
  //   fc1: 784*64 + 64 = 50,240;  fc2: 64*32 + 32 = 2,080;  fc3: 32*10 + 10 = 330   total 52,650
  EXPECT_EQ(make_network(testing::arch_config("mlp", 0.25))->parameter_count(), 52650);
  // lenet, width 0.5: conv 5x5 with 8 then 16 channels, two 2x2 pools (28 -> 7), fc 784 -> 64 -> 32 -> 10
  //   conv1: 1*8*5*5  + 8  =    208
  //   conv2: 8*16*5*5 + 16 =  3,216
  //   fc1: (16*7*7)*64 + 64 = 784*64 + 64 = 50,240
  //   fc2: 64*32 + 32 = 2,080;  fc3: 32*10 + 10 = 330   total 56,074
  EXPECT_EQ(make_network(testing::arch_config("lenet", 0.5))->parameter_count(), 56074);
  // lenet, width 1: channels 16, 32; fc 1568 -> 128 -> 64 -> 10
  //   conv1: 1*16*25 + 16 = 416;  conv2: 16*32*25 + 32 = 12,832
  //   fc1: 1568*128 + 128 = 200,832;  fc2: 128*64 + 64 = 8,256;  fc3: 64*10 + 10 = 650   total 222,986
  EXPECT_EQ(make_network(testing::arch_config("lenet", 1.0))->parameter_count(), 222986);
}

TEST(Architecture, WidthMultiplierChangesTheParameterCount) {
  for (const auto& name : image_architectures()) {
    SCOPED_TRACE(name);
    const int64_t narrow = make_network(testing::arch_config(name, 0.125))->parameter_count();
    const int64_t wide = make_network(testing::arch_config(name, 0.25))->parameter_count();
    EXPECT_GT(narrow, 0);
    EXPECT_GT(wide, narrow);
  }
}

TEST(Architecture, UnknownArchitectureIsAUsageError) {
  EXPECT_THROW_MSG(make_network(testing::arch_config("vgg16")), UsageError, "unknown architecture 'vgg16'");
}

TEST(Architecture, ArchConfigJsonRoundTrips) {
  ArchConfig c = testing::arch_config("lenet", 0.5, 4);
  c.input = InputSpec::image(3, 32);
  EXPECT_EQ(ArchConfig::from_json(c.to_json()), c);
  auto j = c.to_json();
  j.erase("width");
  EXPECT_THROW_MSG(ArchConfig::from_json(j), UsageError, "bad architecture config");
  j = c.to_json();
  j["num_classes"] = "ten";
  EXPECT_THROW(ArchConfig::from_json(j), UsageError);
  j = c.to_json();
  j["width"] = -1.0;
  EXPECT_THROW_MSG(ArchConfig::from_json(j), UsageError, "width out of range");
}

TEST(Architecture, InitialisationFollowsTheTorchSeed) {
  const auto a = testing::seeded_network(testing::arch_config("lenet", 0.25), 5), b = testing::seeded_network(testing::arch_config("lenet", 0.25), 5);
  const auto c = testing::seeded_network(testing::arch_config("lenet", 0.25), 6);
  EXPECT_TRUE(same_tensor(a->named_parameters()["fc1.weight"], b->named_parameters()["fc1.weight"]));
  EXPECT_FALSE(same_tensor(a->named_parameters()["fc1.weight"], c->named_parameters()["fc1.weight"]));
}

TEST(Architecture, CopyLayersCopiesOnlyTheNamedLayers) {
  const auto from = testing::seeded_network(testing::arch_config("lenet", 0.25), 1);
  const auto to = testing::seeded_network(testing::arch_config("lenet", 0.25), 2);
  const auto before = clone_network(*to);
  copy_layers(*from, *to, {"fc2", "fc3"});
  const auto src = from->named_parameters(), dst = to->named_parameters(), old = before->named_parameters();
  for (const auto& p : dst) {
    SCOPED_TRACE(p.key());
    const bool copied = p.key().rfind("fc2.", 0) == 0 || p.key().rfind("fc3.", 0) == 0;
    EXPECT_EQ(same_tensor(p.value(), src[p.key()]), copied);
    EXPECT_EQ(same_tensor(p.value(), old[p.key()]), !copied);
  }
}

TEST(Architecture, CopyLayersCopiesBuffersUnderTheNamedLayers) {
  const auto from = testing::seeded_network(testing::arch_config("resnet18", 0.125), 1);
  const auto to = testing::seeded_network(testing::arch_config("resnet18", 0.125), 2);
  {
    torch::NoGradGuard no_grad;
    for (auto& b : from->named_buffers())
      if (b.value().is_floating_point()) b.value().uniform_(0.5, 1.5);
  }
  copy_layers(*from, *to, {"layer4_1", "fc"});
  const auto src = from->named_buffers();
  int checked = 0;
  for (const auto& b : to->named_buffers()) {
    if (!b.value().is_floating_point()) continue;
    SCOPED_TRACE(b.key());
    const bool copied = b.key().rfind("layer4_1.", 0) == 0;
    EXPECT_EQ(same_tensor(b.value(), src[b.key()]), copied);
    ++checked;
  }
  EXPECT_GT(checked, 0);
  EXPECT_TRUE(same_tensor(to->named_parameters()["fc.weight"], from->named_parameters()["fc.weight"]));
  EXPECT_FALSE(same_tensor(to->named_parameters()["stem.conv.weight"], from->named_parameters()["stem.conv.weight"]));
}

TEST(Architecture, CopyBetweenDifferentArchitecturesIsAUsageError) {
  const auto mlp = make_network(testing::arch_config("mlp", 0.25));
  const auto wider = make_network(testing::arch_config("mlp", 0.5));
  EXPECT_THROW(copy_layers(*mlp, *wider, {"fc3"}), UsageError);
  EXPECT_THROW(copy_state(*mlp, *make_network(testing::arch_config("lenet", 0.25))), UsageError);
}

TEST(Architecture, CloneGivesEqualOutputsAndIsIndependent) {
  torch::manual_seed(3);
  const auto x = torch::randn({4, 1, 28, 28});
  for (const auto& name : image_architectures()) {
    SCOPED_TRACE(name);
    auto net = testing::seeded_network(testing::arch_config(name, 0.125), 9);
    if (name == "resnet18") {  // non-trivial BatchNorm statistics must be cloned too
      torch::NoGradGuard no_grad;
      for (auto& b : net->named_buffers())
        if (b.value().is_floating_point()) b.value().uniform_(0.5, 1.5);
    }
    auto copy = clone_network(*net);
    EXPECT_EQ(copy->config(), net->config());
    net->eval();
    copy->eval();
    torch::NoGradGuard no_grad;
    const auto expected = net->forward(x);
    EXPECT_TRUE(same_tensor(copy->forward(x), expected));
    for (auto& p : copy->parameters()) p.zero_();
    EXPECT_TRUE(same_tensor(net->forward(x), expected));
  }
}

}  // namespace
}  // namespace modeldna::nn
