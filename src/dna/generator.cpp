#include "modeldna/dna/generator.h"

#include <torch/nn/functional/normalization.h>
#include <torch/nn/init.h>

#include "modeldna/core/error.h"

namespace modeldna::dna {

DnaGeneratorImpl::DnaGeneratorImpl(const nn::InputSpec& format, int64_t dna_dim) : text_(format.modality == data::Modality::Text) {
  namespace nn = torch::nn;
  if (text_) {
    auto conv = [](int64_t in, int64_t out, int64_t stride) {
      return nn::Conv1d(nn::Conv1dOptions(in, out, 3).stride(stride).padding(1).bias(false));
    };
    embed_ = register_module("embed", nn::Embedding(format.vocab_size, 64));
    text_conv1_ = register_module("conv1", conv(64, 64, 1));
    text_bn1_ = register_module("bn1", nn::BatchNorm1d(64));
    text_conv2_ = register_module("conv2", conv(64, 128, 2));
    text_bn2_ = register_module("bn2", nn::BatchNorm1d(128));
    text_conv3_ = register_module("conv3", conv(128, 128, 2));
    text_bn3_ = register_module("bn3", nn::BatchNorm1d(128));
  } else {
    auto conv = [](int64_t in, int64_t out, int64_t stride) {
      return nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false));
    };
    conv1_ = register_module("conv1", conv(format.in_channels, 32, 1));
    bn1_ = register_module("bn1", nn::BatchNorm2d(32));
    conv2_ = register_module("conv2", conv(32, 64, 2));
    bn2_ = register_module("bn2", nn::BatchNorm2d(64));
    conv3_ = register_module("conv3", conv(64, 128, 2));
    bn3_ = register_module("bn3", nn::BatchNorm2d(128));
  }
  project1_ = register_module("project1", nn::Linear(nn::LinearOptions(128, 128).bias(false)));
  project_bn_ = register_module("project_bn", nn::BatchNorm1d(128));
  project2_ = register_module("project2", nn::Linear(128, dna_dim));
}

torch::Tensor DnaGeneratorImpl::encode_image(const torch::Tensor& x) {
  auto h = torch::relu(bn1_->forward(conv1_->forward(x)));
  h = torch::relu(bn2_->forward(conv2_->forward(h)));
  h = torch::relu(bn3_->forward(conv3_->forward(h)));
  return torch::adaptive_avg_pool2d(h, {1, 1}).flatten(1);
}

torch::Tensor DnaGeneratorImpl::encode_text(const torch::Tensor& ids) {
  auto h = embed_->forward(ids).transpose(1, 2);  // [batch, 64, seq_len]
  h = torch::relu(text_bn1_->forward(text_conv1_->forward(h)));
  h = torch::relu(text_bn2_->forward(text_conv2_->forward(h)));
  h = torch::relu(text_bn3_->forward(text_conv3_->forward(h)));
  return h.mean(2);
}

torch::Tensor DnaGeneratorImpl::forward(const torch::Tensor& x) {
  auto h = text_ ? encode_text(x) : encode_image(x);
  h = project2_->forward(torch::relu(project_bn_->forward(project1_->forward(h))));
  return torch::nn::functional::normalize(h, torch::nn::functional::NormalizeFuncOptions().dim(1).eps(1e-12));
}

std::string_view pair_features_name(PairFeatures features) {
  switch (features) {
    case PairFeatures::Concat: return "concat";
    case PairFeatures::Relation: return "relation";
  }
  throw InternalError("invalid PairFeatures");
}

std::optional<PairFeatures> parse_pair_features(std::string_view name) {
  if (name == "concat") return PairFeatures::Concat;
  if (name == "relation") return PairFeatures::Relation;
  return std::nullopt;
}

ProvenanceClassifierImpl::ProvenanceClassifierImpl(int64_t dna_dim, PairFeatures pair_features)
    : relation_(pair_features == PairFeatures::Relation) {
  fc1_ = register_module("fc1", torch::nn::Linear((relation_ ? 4 : 2) * dna_dim, 512));
  fc2_ = register_module("fc2", torch::nn::Linear(512, 256));
  fc3_ = register_module("fc3", torch::nn::Linear(256, 128));
  fc4_ = register_module("fc4", torch::nn::Linear(128, 64));
  fc5_ = register_module("fc5", torch::nn::Linear(64, 2));
  for (auto& fc : {fc1_, fc2_, fc3_, fc4_, fc5_}) torch::nn::init::zeros_(fc->bias);
}

torch::Tensor ProvenanceClassifierImpl::forward(const torch::Tensor& source_dna, const torch::Tensor& target_dna) {
  const auto pair = relation_ ? torch::cat({source_dna, target_dna, (source_dna - target_dna).abs(), source_dna * target_dna}, 1)
                              : torch::cat({source_dna, target_dna}, 1);
  auto h = torch::relu(fc1_->forward(pair));
  return fc5_->forward(fc4_->forward(fc3_->forward(fc2_->forward(h))));
}

}  // namespace modeldna::dna
