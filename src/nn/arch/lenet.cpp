#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/pooling.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include "architecture_table.h"

namespace modeldna::nn::arch {
namespace {

namespace F = torch::nn::functional;

class LeNet : public Network {
 public:
  explicit LeNet(const ArchConfig& c) : Network(c) {
    const int64_t c1 = scaled(16, c.width), c2 = scaled(32, c.width);
    const int64_t side = c.input.image_size / 4;  // two 2x2 poolings
    conv1_ = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(c.input.in_channels, c1, 5).padding(2)));
    conv2_ = register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(c1, c2, 5).padding(2)));
    fc1_ = register_module("fc1", torch::nn::Linear(c2 * side * side, scaled(128, c.width)));
    fc2_ = register_module("fc2", torch::nn::Linear(scaled(128, c.width), scaled(64, c.width)));
    fc3_ = register_module("fc3", torch::nn::Linear(scaled(64, c.width), c.num_classes));
  }

  torch::Tensor features(torch::Tensor x) override {
    x = F::max_pool2d(torch::relu(conv1_->forward(x)), F::MaxPool2dFuncOptions(2));
    x = F::max_pool2d(torch::relu(conv2_->forward(x)), F::MaxPool2dFuncOptions(2));
    x = torch::relu(fc1_->forward(x.flatten(1)));
    return torch::relu(fc2_->forward(x));
  }
  torch::Tensor classify(const torch::Tensor& features) override { return fc3_->forward(features); }

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr}, fc3_{nullptr};
};

}  // namespace

NetworkPtr make_lenet(const ArchConfig& config) { return std::make_shared<LeNet>(config); }

}  // namespace modeldna::nn::arch
