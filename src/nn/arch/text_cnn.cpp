#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>

#include <limits>

#include "architecture_table.h"
#include "text_input.h"

namespace modeldna::nn::arch {
namespace {

// Kim-style text CNN, stacked: embedding, three 1-D convolutions (kernels
// 3, 5, 7, "same" length) with ReLU, then a global max pool over time.
// Padding positions are zeroed after every layer, so a sequence reads the
// same as if it ended at its last real token (the convolutions' own zero
// padding), and the pool only sees real positions.
class TextCnn : public Network {
 public:
  explicit TextCnn(const ArchConfig& c) : Network(c) {
    const int64_t e = scaled(64, c.width), ch = scaled(128, c.width);
    auto conv = [](int64_t in, int64_t out, int64_t k) {
      return torch::nn::Conv1d(torch::nn::Conv1dOptions(in, out, k).padding(k / 2));
    };
    embed_ = register_module("embed", torch::nn::Embedding(c.input.vocab_size, e));
    conv1_ = register_module("conv1", conv(e, ch, 3));
    conv2_ = register_module("conv2", conv(ch, ch, 5));
    conv3_ = register_module("conv3", conv(ch, ch, 7));
    head_ = register_module("head", torch::nn::Linear(ch, c.num_classes));
  }

  torch::Tensor features(torch::Tensor x) override {
    const auto real = real_positions(config(), x).unsqueeze(1);  // [batch, 1, L]
    const auto keep = real.to(torch::kFloat32);
    auto h = embed_->forward(x).transpose(1, 2) * keep;            // [batch, e, L]
    h = torch::relu(conv1_->forward(h)) * keep;
    h = torch::relu(conv2_->forward(h)) * keep;
    h = torch::relu(conv3_->forward(h));
    return h.masked_fill(real.logical_not(), -std::numeric_limits<float>::infinity()).amax(2);
  }
  torch::Tensor classify(const torch::Tensor& features) override { return head_->forward(features); }

 private:
  torch::nn::Embedding embed_{nullptr};
  torch::nn::Conv1d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  torch::nn::Linear head_{nullptr};
};

}  // namespace

NetworkPtr make_text_cnn(const ArchConfig& config) { return std::make_shared<TextCnn>(config); }

}  // namespace modeldna::nn::arch
