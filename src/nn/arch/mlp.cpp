#include <torch/nn/modules/linear.h>
#include <torch/nn/functional/activation.h>

#include "architecture_table.h"

namespace modeldna::nn::arch {
namespace {

class Mlp : public Network {
 public:
  explicit Mlp(const ArchConfig& c) : Network(c) {
    const int64_t in = c.input.in_channels * c.input.image_size * c.input.image_size;
    const int64_t h1 = scaled(256, c.width), h2 = scaled(128, c.width);
    fc1_ = register_module("fc1", torch::nn::Linear(in, h1));
    fc2_ = register_module("fc2", torch::nn::Linear(h1, h2));
    fc3_ = register_module("fc3", torch::nn::Linear(h2, c.num_classes));
  }

  torch::Tensor features(torch::Tensor x) override {
    x = torch::relu(fc1_->forward(x.flatten(1)));
    return torch::relu(fc2_->forward(x));
  }
  torch::Tensor classify(const torch::Tensor& features) override { return fc3_->forward(features); }

 private:
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr}, fc3_{nullptr};
};

}  // namespace

NetworkPtr make_mlp(const ArchConfig& config) { return std::make_shared<Mlp>(config); }

}  // namespace modeldna::nn::arch
