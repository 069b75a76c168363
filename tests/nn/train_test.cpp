#include "modeldna/nn/train.h"

#include <torch/torch.h>

#include <string>
#include <vector>

#include "modeldna/core/error.h"
#include "modeldna/nn/compress.h"
#include "network_helpers.h"
#include "test_support.h"

namespace modeldna::nn {
namespace {

constexpr int64_t kClasses = 4;

// Four classes, each a fixed random blocky 28x28 prototype (7x7 random values,
// each repeated over a 4x4 block, so convolutions see it too) plus per-pixel
// noise: easily separable, but not before training.
data::Dataset synthetic(int64_t n, uint64_t seed) {
  torch::manual_seed(12345);  // the prototypes are shared by every split
  const auto prototypes = torch::randn({kClasses, 1, 7, 7}).repeat_interleave(4, 2).repeat_interleave(4, 3);
  torch::manual_seed(seed);
  data::Dataset d;
  d.name = "synthetic";
  d.num_classes = kClasses;
  d.labels = torch::randint(0, kClasses, {n}, torch::kInt64);
  d.inputs = (0.4 * prototypes.index_select(0, d.labels) + torch::randn({n, 1, 28, 28})).clamp(-1, 1);
  return d;
}

ArchConfig train_config(const std::string& arch, double width, int64_t num_classes = kClasses) {
  return testing::arch_config(arch, width, num_classes);
}

TrainOptions options(int64_t epochs, uint64_t seed = 7, double lr = 0.02) {
  TrainOptions o;
  o.lr = lr;
  o.epochs = epochs;
  o.batch_size = 32;
  o.seed = seed;
  return o;
}

bool same_weights(Network& a, Network& b) {
  const auto other = b.named_parameters();
  for (const auto& p : a.named_parameters())
    if (!torch::equal(p.value(), other[p.key()])) return false;
  const auto other_buffers = b.named_buffers();
  for (const auto& p : a.named_buffers())
    if (!torch::equal(p.value(), other_buffers[p.key()])) return false;
  return true;
}

double agreement(Network& a, Network& b, const torch::Tensor& x) {
  return predict_logits(a, x).argmax(1).eq(predict_logits(b, x).argmax(1)).to(torch::kFloat64).mean().item<double>();
}

double zero_fraction(const torch::Tensor& t) { return t.eq(0).to(torch::kFloat64).mean().item<double>(); }

class Train : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    train_ = new data::Dataset(synthetic(512, 1));
    test_ = new data::Dataset(synthetic(512, 2));
  }
  static void TearDownTestSuite() {
    delete train_;
    delete test_;
  }
  static data::Dataset* train_;
  static data::Dataset* test_;
};
data::Dataset* Train::train_ = nullptr;
data::Dataset* Train::test_ = nullptr;

TEST_F(Train, TinyMlpLearnsASeparableTask) {
  auto net = testing::seeded_network(train_config("mlp", 0.25), 1);
  const double before = accuracy(*net, *test_);
  EXPECT_LT(before, 0.6);
  const double loss = train_classifier(*net, *train_, options(3));
  EXPECT_TRUE(std::isfinite(loss));
  EXPECT_LT(loss, 0.5);
  EXPECT_GT(accuracy(*net, *test_), 0.9);
  EXPECT_FALSE(net->is_training());
}

TEST_F(Train, AdamWorksToo) {
  auto net = testing::seeded_network(train_config("lenet", 0.25), 1);
  auto o = options(2);
  o.optimizer = Optimizer::Adam;
  o.lr = 1e-3;
  train_classifier(*net, *train_, o);
  EXPECT_GT(accuracy(*net, *test_), 0.9);
}

TEST_F(Train, RefusesBadOptions) {
  auto net = testing::seeded_network(train_config("mlp", 0.25), 1);
  auto o = options(1);
  // An optimizer is a closed set: "lbfgs" cannot be asked for, only parsed and refused.
  EXPECT_EQ(parse_optimizer("lbfgs"), std::nullopt);
  EXPECT_EQ(parse_optimizer(optimizer_name(Optimizer::Adam)), Optimizer::Adam);
  o.trainable_layers = {"fc9"};
  EXPECT_THROW_MSG(train_classifier(*net, *train_, o), UsageError, "no layer 'fc9' in mlp");
  auto two_outputs = testing::seeded_network(train_config("mlp", 0.25, 2), 1);
  EXPECT_THROW(train_classifier(*two_outputs, *train_, options(1)), UsageError);
  EXPECT_THROW(train_classifier(*net, train_->slice(0, 0), options(1)), UsageError);
}

TEST_F(Train, SameSeedGivesBitIdenticalWeights) {
  auto a = testing::seeded_network(train_config("lenet", 0.25), 3), b = testing::seeded_network(train_config("lenet", 0.25), 3);
  const double loss_a = train_classifier(*a, *train_, options(1, 11));
  const double loss_b = train_classifier(*b, *train_, options(1, 11));
  EXPECT_EQ(loss_a, loss_b);
  EXPECT_TRUE(same_weights(*a, *b));
  auto c = testing::seeded_network(train_config("lenet", 0.25), 3);
  train_classifier(*c, *train_, options(1, 12));  // another shuffle
  EXPECT_FALSE(same_weights(*a, *c));
}

TEST_F(Train, ZeroEpochsChangeNothing) {
  auto net = testing::seeded_network(train_config("mlp", 0.25), 1);
  const auto before = clone_network(*net);
  train_classifier(*net, *train_, options(0));
  EXPECT_TRUE(same_weights(*net, *before));
}

// The drop written out by hand: the same shuffles, SGD at the rate for the
// first epoch, then a fresh SGD (momentum restarted) at a tenth of it.
TEST_F(Train, LearningRateDropRestartsTheOptimizerAtATenth) {
  auto net = testing::seeded_network(train_config("mlp", 0.25), 1);
  auto by_hand = clone_network(*net);
  auto o = options(2);
  o.lr_drop_epoch = 1;
  train_classifier(*net, *train_, o);

  torch::manual_seed(o.seed);
  by_hand->train();
  auto sgd = [&](double lr) {
    return std::make_unique<torch::optim::SGD>(
        by_hand->parameters(), torch::optim::SGDOptions(lr).momentum(o.momentum).weight_decay(o.weight_decay));
  };
  auto optimizer = sgd(o.lr);
  for (int64_t epoch = 0; epoch < 2; ++epoch) {
    if (epoch == 1) optimizer = sgd(o.lr / 10);
    const auto order = torch::randperm(train_->size(), torch::kInt64);
    for (int64_t begin = 0; begin < train_->size(); begin += o.batch_size) {
      const auto idx = order.slice(0, begin, std::min(begin + o.batch_size, train_->size()));
      optimizer->zero_grad();
      torch::nn::functional::cross_entropy(by_hand->forward(train_->inputs.index_select(0, idx)),
                                           train_->labels.index_select(0, idx))
          .backward();
      optimizer->step();
    }
  }
  by_hand->eval();
  EXPECT_TRUE(same_weights(*net, *by_hand));

  auto plain = options(2);
  auto a = testing::seeded_network(train_config("mlp", 0.25), 1);
  train_classifier(*a, *train_, plain);
  EXPECT_FALSE(same_weights(*a, *net));  // the drop changed the second epoch
  EXPECT_EQ(o.to_json()["lr_drop_epoch"], 1);
  EXPECT_FALSE(plain.to_json().contains("lr_drop_epoch"));  // older recipes keep their JSON
  o.lr_drop_epoch = -1;
  EXPECT_THROW_MSG(train_classifier(*net, *train_, o), UsageError, "drop epoch");
}

TEST_F(Train, TrainableLayersFreezeTheOthers) {
  auto net = testing::seeded_network(train_config("mlp", 0.25), 1);
  const auto before = clone_network(*net);
  auto o = options(1);
  o.trainable_layers = {"fc3"};
  train_classifier(*net, *train_, o);
  const auto old = before->named_parameters();
  for (const auto& p : net->named_parameters()) {
    SCOPED_TRACE(p.key());
    EXPECT_EQ(torch::equal(p.value(), old[p.key()]), p.key().rfind("fc3.", 0) != 0);
    EXPECT_TRUE(p.value().requires_grad());  // unfrozen again afterwards
  }
}

TEST_F(Train, FrozenBatchNormKeepsItsStatistics) {
  auto net = testing::seeded_network(train_config("resnet18", 0.125), 1);
  const auto before = clone_network(*net);
  auto o = options(1);
  o.trainable_layers = {"layer4_1", "fc"};
  train_classifier(*net, train_->slice(0, 64), o);
  const auto old_params = before->named_parameters();
  for (const auto& p : net->named_parameters()) {
    SCOPED_TRACE(p.key());
    const bool learns = p.key().rfind("layer4_1.", 0) == 0 || p.key().rfind("fc.", 0) == 0;
    EXPECT_EQ(torch::equal(p.value(), old_params[p.key()]), !learns);
  }
  const auto old_buffers = before->named_buffers();
  for (const auto& b : net->named_buffers()) {
    SCOPED_TRACE(b.key());
    const bool learns = b.key().rfind("layer4_1.", 0) == 0;
    EXPECT_EQ(torch::equal(b.value(), old_buffers[b.key()]), !learns);
  }
}

TEST_F(Train, PruningZeroesHalfOfEveryWeightMatrixAndStaysApplied) {
  auto net = testing::seeded_network(train_config("lenet", 0.25), 1);
  train_classifier(*net, *train_, options(3, 7, 0.05));
  ASSERT_GT(accuracy(*net, *test_), 0.9);
  const auto biases_before = clone_network(*net);
  auto reapply = prune_by_magnitude(*net, 0.5);
  std::map<std::string, torch::Tensor> masks;
  for (const auto& p : net->named_parameters()) {
    SCOPED_TRACE(p.key());
    if (p.value().dim() < 2) {
      EXPECT_TRUE(torch::equal(p.value(), biases_before->named_parameters()[p.key()]));
      continue;
    }
    EXPECT_GE(zero_fraction(p.value()), 0.5);
    EXPECT_LT(zero_fraction(p.value()), 0.51);
    masks[p.key()] = p.value().ne(0);
  }
  EXPECT_EQ(masks.size(), 5u);  // conv1, conv2, fc1, fc2, fc3

  auto o = options(2, 8, 0.05);
  o.after_step = reapply;
  train_classifier(*net, *train_, o);
  for (const auto& p : net->named_parameters()) {
    if (p.value().dim() < 2) continue;
    SCOPED_TRACE(p.key());
    EXPECT_EQ(p.value().masked_select(masks[p.key()].logical_not()).abs().max().item<float>(), 0.0f);
    EXPECT_GE(zero_fraction(p.value()), 0.5);
  }
  EXPECT_GT(accuracy(*net, *test_), 0.9);

  // Without the masks, training regrows the pruned weights.
  auto regrown = clone_network(*net);
  train_classifier(*regrown, *train_, options(1, 9, 0.05));
  EXPECT_LT(zero_fraction(regrown->named_parameters()["fc1.weight"]), 0.5);
}

TEST_F(Train, PruningRefusesABadFraction) {
  auto net = testing::seeded_network(train_config("mlp", 0.25), 1);
  EXPECT_THROW(prune_by_magnitude(*net, 1.0), UsageError);
  EXPECT_THROW(prune_by_magnitude(*net, -0.1), UsageError);
}

TEST_F(Train, DistillationMakesTheStudentAgreeWithTheTeacher) {
  auto teacher = testing::seeded_network(train_config("mlp", 0.25), 1);
  train_classifier(*teacher, *train_, options(3));
  for (const std::string student_arch : {"mlp", "lenet"}) {
    SCOPED_TRACE(student_arch);
    auto student = testing::seeded_network(train_config(student_arch, 0.25), 2);
    const double before = agreement(*student, *teacher, test_->inputs);
    const auto teacher_before = clone_network(*teacher);
    const double loss = train_distillation(*student, *teacher, *train_, options(4, 7, 0.05), 4.0);
    EXPECT_TRUE(std::isfinite(loss));
    const double after = agreement(*student, *teacher, test_->inputs);
    EXPECT_LT(before, 0.6);
    EXPECT_GT(after, 0.9);
    EXPECT_GT(after, before + 0.3);
    EXPECT_TRUE(same_weights(*teacher, *teacher_before));  // the teacher only teaches
  }
}

TEST_F(Train, PredictLogitsBatchesLikeOneForwardPass) {
  auto net = testing::seeded_network(train_config("mlp", 0.25), 1);
  const auto x = test_->inputs.slice(0, 0, 100);
  const auto batched = predict_logits(*net, x, 7);
  torch::NoGradGuard no_grad;
  EXPECT_EQ(batched.sizes().vec(), (std::vector<int64_t>{100, kClasses}));
  EXPECT_TRUE(torch::allclose(batched, net->forward(x), 1e-5, 1e-6));
  EXPECT_EQ(predict_logits(*net, x.slice(0, 0, 0)).size(0), 0);
}

// predict_logits lends the convolutions another layout and gives them back:
// the weights are bit for bit and layout for layout what they were, and the
// logits are the plain forward pass's.
TEST_F(Train, PredictLogitsHandsTheWeightsBackAsTheyWere) {
  auto net = testing::seeded_network(train_config("resnet18", 0.125), 1);
  const auto before = clone_network(*net);
  const auto x = test_->inputs.slice(0, 0, 40);
  const auto logits = predict_logits(*net, x, 16);
  EXPECT_TRUE(same_weights(*net, *before));
  for (const auto& p : net->named_parameters()) EXPECT_TRUE(p.value().is_contiguous()) << p.key();
  torch::NoGradGuard no_grad;
  net->eval();
  EXPECT_TRUE(torch::allclose(logits, net->forward(x), 1e-4, 1e-5));
  EXPECT_THROW_MSG(predict_logits(*net, x, 0), UsageError, "batch size");
}

TEST(TrainOptions, RecipeJson) {
  TrainOptions o;
  o.optimizer = Optimizer::Sgd;
  o.trainable_layers = {"fc3"};
  auto j = o.to_json();
  EXPECT_EQ(j["optimizer"], "sgd");
  EXPECT_EQ(j["momentum"], 0.9);
  EXPECT_EQ(j["trainable_layers"], nlohmann::json({"fc3"}));
  o.optimizer = Optimizer::Adam;
  o.trainable_layers.clear();
  j = o.to_json();
  EXPECT_FALSE(j.contains("momentum"));
  EXPECT_FALSE(j.contains("trainable_layers"));
}

// conv -> BatchNorm -> linear: small enough to compute the statistics by hand.
class ConvBnNet : public Network {
 public:
  ConvBnNet() : Network(ArchConfig{}) {
    conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 3, 3)));
    bn = register_module("bn", torch::nn::BatchNorm2d(3));
    fc = register_module("fc", torch::nn::Linear(3 * 2 * 2, 2));
  }
  torch::Tensor features(torch::Tensor x) override { return bn(conv(x)).flatten(1); }
  torch::Tensor classify(const torch::Tensor& features) override { return fc(features); }
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
  torch::nn::Linear fc{nullptr};
};

// The statistics of 10 inputs in batches of 4, 4 and 2: each batch's channel
// means and unbiased variances, averaged over the three batches.
TEST(ReestimateBatchnorm, AveragesEachBatchsStatistics) {
  torch::manual_seed(5);
  ConvBnNet net;
  net.eval();
  const auto inputs = torch::randn({10, 1, 4, 4}) * 3 + 1;
  const auto weights_before = net.conv->weight.clone();
  torch::Tensor conv_out;
  {
    torch::NoGradGuard no_grad;
    conv_out = net.conv(inputs);
  }
  auto expected_mean = torch::zeros({3}), expected_var = torch::zeros({3});
  for (const auto& [begin, end] : {std::pair<int64_t, int64_t>{0, 4}, {4, 8}, {8, 10}}) {
    const auto batch = conv_out.slice(0, begin, end).transpose(0, 1).reshape({3, -1});
    expected_mean += batch.mean(1) / 3;
    expected_var += batch.var(1, /*unbiased=*/true) / 3;
  }
  EXPECT_EQ(reestimate_batchnorm(net, inputs, 4), 1);
  EXPECT_TRUE(torch::allclose(net.bn->running_mean, expected_mean, 1e-5, 1e-5)) << net.bn->running_mean << expected_mean;
  EXPECT_TRUE(torch::allclose(net.bn->running_var, expected_var, 1e-5, 1e-5)) << net.bn->running_var << expected_var;
  EXPECT_TRUE(torch::equal(net.conv->weight, weights_before));
  EXPECT_FALSE(net.is_training());
  EXPECT_EQ(net.bn->options.momentum(), 0.1);

  // A lone last input joins the batch before (a batch of one has no variance).
  reestimate_batchnorm(net, inputs.slice(0, 0, 9), 4);
  const auto tail = conv_out.slice(0, 4, 9).transpose(0, 1).reshape({3, -1});
  const auto head = conv_out.slice(0, 0, 4).transpose(0, 1).reshape({3, -1});
  EXPECT_TRUE(torch::allclose(net.bn->running_mean, (head.mean(1) + tail.mean(1)) / 2, 1e-5, 1e-5));

  EXPECT_THROW_MSG(reestimate_batchnorm(net, inputs.slice(0, 0, 1)), UsageError, "at least 2 inputs");
  auto mlp = testing::seeded_network(testing::arch_config("mlp", 0.125), 1);
  EXPECT_EQ(reestimate_batchnorm(*mlp, torch::randn({4, 1, 28, 28})), 0);
}

}  // namespace
}  // namespace modeldna::nn
