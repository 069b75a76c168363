// File: modeldna/dna/generator.h
// The DNA generator g: the data-driven half of a model's DNA,
// DNA_M(x) = g(x) + M(x).
//
// The reference uses a randomly initialised ResNet-50 (24.6M parameters) on
// 32x32 colour images. For 28x28 grey probes on 2 cores we use a three-stage
// convolutional encoder (32/64/128 channels, ~0.1M parameters, ~8 MFLOPs per
// probe, a third of one width-0.25 ResNet-18 forward pass) with the
// reference's projection head: Linear(no bias) -> BatchNorm -> ReLU -> Linear,
// L2-normalised. Its job is to encode the probe, which a small encoder does
// for images this size; its cost never dominates a verification.
// Text probes get the same encoder in one dimension over a token embedding
// (64 wide, then 64/128/128 channels), with the same projection head.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/types.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modeldna/nn/network.h"

namespace modeldna::dna {


class DnaGeneratorImpl : public torch::nn::Module {
 public:
  DnaGeneratorImpl(const nn::InputSpec& format, int64_t dna_dim);
  /// Unit vectors, shape = [batch, dna_dim].
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::Tensor encode_image(const torch::Tensor& x);
  torch::Tensor encode_text(const torch::Tensor& ids);

  bool text_ = false;
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr}, bn3_{nullptr};
  torch::nn::Embedding embed_{nullptr};
  torch::nn::Conv1d text_conv1_{nullptr}, text_conv2_{nullptr}, text_conv3_{nullptr};
  torch::nn::BatchNorm1d text_bn1_{nullptr}, text_bn2_{nullptr}, text_bn3_{nullptr};
  torch::nn::Linear project1_{nullptr}, project2_{nullptr};
  torch::nn::BatchNorm1d project_bn_{nullptr};
};
TORCH_MODULE(DnaGenerator);

/// What the provenance classifier reads of a DNA pair: the paper's
/// [a, b] ("concat"), or ours, [a, b, |a - b|, a * b] ("relation").
enum class PairFeatures { Concat, Relation };
std::string_view pair_features_name(PairFeatures features);
std::optional<PairFeatures> parse_pair_features(std::string_view name);

/// The provenance classifier, as in the reference: fc1 2d->512, ReLU, then
/// fc2..fc5 (256, 128, 64, 2) with no further non-linearity; biases start at 0.
/// Input: [DNA_source, DNA_target]; output: logits (non-homologous, homologous).
/// PairFeatures::Relation (ours, not the paper's) also feeds the pair's
/// relation, [a, b, |a - b|, a * b] (fc1 4d->512), so the classifier can judge
/// how a target's DNA relates to the source's rather than what it looks like.
class ProvenanceClassifierImpl : public torch::nn::Module {
 public:
  explicit ProvenanceClassifierImpl(int64_t dna_dim, PairFeatures pair_features = PairFeatures::Concat);
  torch::Tensor forward(const torch::Tensor& source_dna, const torch::Tensor& target_dna);

 private:
  bool relation_ = false;
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr}, fc3_{nullptr}, fc4_{nullptr}, fc5_{nullptr};
};
TORCH_MODULE(ProvenanceClassifier);

}  // namespace modeldna::dna
