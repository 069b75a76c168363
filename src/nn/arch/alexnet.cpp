#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/dropout.h>
#include <torch/nn/functional/pooling.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/linear.h>

#include "architecture_table.h"

namespace modeldna::nn::arch {
namespace {

namespace F = torch::nn::functional;

// AlexNet's shape (5 conv, 3 max-pools, 3 fully connected with dropout) with
// 3x3 kernels, as 28x28 inputs leave no room for 11x11 ones.
class AlexNet : public Network {
 public:
  explicit AlexNet(const ArchConfig& c) : Network(c) {
    const int64_t c1 = scaled(64, c.width), c2 = scaled(128, c.width), c3 = scaled(256, c.width);
    const int64_t hidden = scaled(512, c.width);
    const int64_t side = c.input.image_size / 2 / 2 / 2;  // three 2x2 poolings: 28 -> 3
    auto conv = [](int64_t in, int64_t out) { return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1)); };
    conv1_ = register_module("conv1", conv(c.input.in_channels, c1));
    conv2_ = register_module("conv2", conv(c1, c2));
    conv3_ = register_module("conv3", conv(c2, c3));
    conv4_ = register_module("conv4", conv(c3, c3));
    conv5_ = register_module("conv5", conv(c3, c2));
    fc6_ = register_module("fc6", torch::nn::Linear(c2 * side * side, hidden));
    fc7_ = register_module("fc7", torch::nn::Linear(hidden, hidden));
    fc8_ = register_module("fc8", torch::nn::Linear(hidden, c.num_classes));
    // He initialisation: from PyTorch's default init this plain 8-layer ReLU
    // network (no BatchNorm) stays near chance for the few epochs the zoo
    // affords (measured: 10% vs 78% on Fashion-MNIST after 3 epochs at lr 0.02).
    torch::NoGradGuard no_grad;
    for (auto& p : named_parameters()) {
      if (p.value().dim() >= 2)
        torch::nn::init::kaiming_normal_(p.value(), 0.0, torch::kFanIn, torch::kReLU);
      else
        p.value().zero_();
    }
  }

  torch::Tensor features(torch::Tensor x) override {
    const auto pool = F::MaxPool2dFuncOptions(2);
    x = F::max_pool2d(torch::relu(conv1_->forward(x)), pool);
    x = F::max_pool2d(torch::relu(conv2_->forward(x)), pool);
    x = torch::relu(conv3_->forward(x));
    x = torch::relu(conv4_->forward(x));
    x = F::max_pool2d(torch::relu(conv5_->forward(x)), pool);
    const auto drop = F::DropoutFuncOptions().p(kDropout).training(is_training());
    x = F::dropout(torch::relu(fc6_->forward(x.flatten(1))), drop);
    return F::dropout(torch::relu(fc7_->forward(x)), drop);
  }
  torch::Tensor classify(const torch::Tensor& features) override { return fc8_->forward(features); }

 private:
  static constexpr double kDropout = 0.3;
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr}, conv4_{nullptr}, conv5_{nullptr};
  torch::nn::Linear fc6_{nullptr}, fc7_{nullptr}, fc8_{nullptr};
};

}  // namespace

NetworkPtr make_alexnet(const ArchConfig& config) { return std::make_shared<AlexNet>(config); }

}  // namespace modeldna::nn::arch
