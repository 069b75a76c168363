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
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/types.h>

namespace modeldna::dna {

class DnaGeneratorImpl : public torch::nn::Module {
 public:
  DnaGeneratorImpl(int64_t in_channels, int64_t dna_dim);
  /// Unit vectors, shape = [batch, dna_dim].
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr}, bn3_{nullptr};
  torch::nn::Linear project1_{nullptr}, project2_{nullptr};
  torch::nn::BatchNorm1d project_bn_{nullptr};
};
TORCH_MODULE(DnaGenerator);

/// The provenance classifier, as in the reference: fc1 2d->512, ReLU, then
/// fc2..fc5 (256, 128, 64, 2) with no further non-linearity; biases start at 0.
/// Input: [DNA_source, DNA_target]; output: logits (non-homologous, homologous).
class ProvenanceClassifierImpl : public torch::nn::Module {
 public:
  explicit ProvenanceClassifierImpl(int64_t dna_dim);
  torch::Tensor forward(const torch::Tensor& source_dna, const torch::Tensor& target_dna);

 private:
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr}, fc3_{nullptr}, fc4_{nullptr}, fc5_{nullptr};
};
TORCH_MODULE(ProvenanceClassifier);

}  // namespace modeldna::dna
