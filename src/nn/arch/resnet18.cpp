#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/pooling.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include "architecture_table.h"

namespace modeldna::nn::arch {
namespace {

torch::nn::Conv2d conv3x3(int64_t in, int64_t out, int64_t stride) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false));
}

// conv3x3-BN-ReLU, the CIFAR-style stem (no max-pool).
struct StemImpl : torch::nn::Module {
  StemImpl(int64_t in, int64_t out) {
    conv = register_module("conv", conv3x3(in, out, 1));
    bn = register_module("bn", torch::nn::BatchNorm2d(out));
  }
  torch::Tensor forward(const torch::Tensor& x) { return torch::relu(bn->forward(conv->forward(x))); }
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
};
TORCH_MODULE(Stem);

// conv3x3-BN-ReLU-conv3x3-BN plus a (projected when needed) shortcut, then ReLU.
struct BasicBlockImpl : torch::nn::Module {
  BasicBlockImpl(int64_t in, int64_t out, int64_t stride) {
    conv1 = register_module("conv1", conv3x3(in, out, stride));
    bn1 = register_module("bn1", torch::nn::BatchNorm2d(out));
    conv2 = register_module("conv2", conv3x3(out, out, 1));
    bn2 = register_module("bn2", torch::nn::BatchNorm2d(out));
    if (stride != 1 || in != out) {
      shortcut_conv = register_module(
          "shortcut_conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1).stride(stride).bias(false)));
      shortcut_bn = register_module("shortcut_bn", torch::nn::BatchNorm2d(out));
    }
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = torch::relu(bn1->forward(conv1->forward(x)));
    y = bn2->forward(conv2->forward(y));
    const auto shortcut = shortcut_conv ? shortcut_bn->forward(shortcut_conv->forward(x)) : x;
    return torch::relu(y + shortcut);
  }
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, shortcut_conv{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, shortcut_bn{nullptr};
};
TORCH_MODULE(BasicBlock);

class ResNet18 : public Network {
 public:
  explicit ResNet18(const ArchConfig& c) : Network(c) {
    int64_t channels = scaled(64, c.width);
    stem_ = register_module("stem", Stem(c.input.in_channels, channels));
    int64_t in = channels;
    for (int stage = 0; stage < 4; ++stage) {
      const int64_t out = scaled(64 << stage, c.width);
      for (int block = 0; block < 2; ++block) {
        const int64_t stride = (stage > 0 && block == 0) ? 2 : 1;
        const std::string name = "layer" + std::to_string(stage + 1) + "_" + std::to_string(block);
        blocks_.push_back(register_module(name, BasicBlock(in, out, stride)));
        in = out;
      }
    }
    fc_ = register_module("fc", torch::nn::Linear(in, c.num_classes));
  }

  torch::Tensor features(torch::Tensor x) override {
    x = stem_->forward(x);
    for (auto& block : blocks_) x = block->forward(x);
    // Global average pooling: 28x28 inputs end at 4x4, not CIFAR's fixed 4.
    return torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1);
  }
  torch::Tensor classify(const torch::Tensor& features) override { return fc_->forward(features); }

 private:
  Stem stem_{nullptr};
  std::vector<BasicBlock> blocks_;
  torch::nn::Linear fc_{nullptr};
};

}  // namespace

NetworkPtr make_resnet18(const ArchConfig& config) { return std::make_shared<ResNet18>(config); }

}  // namespace modeldna::nn::arch
