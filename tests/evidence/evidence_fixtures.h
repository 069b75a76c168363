// Tiny models and data shared by the evidence tests. Everything is seeded, so
// every score below is the same on every run.
#pragma once

#include <torch/types.h>

#include "modeldna/data/dataset.h"
#include "modeldna/evidence/detector.h"
#include "modeldna/nn/network.h"
#include "modeldna/nn/train.h"

namespace modeldna::evidence::testing {

inline nn::ArchConfig tiny_mlp(int64_t num_classes = 10) {
  nn::ArchConfig c;
  c.arch = "mlp";
  c.num_classes = num_classes;
  c.width = 0.125;  // 784 -> 32 -> 16 -> classes
  return c;
}

inline nn::ArchConfig tiny_lenet() {
  nn::ArchConfig c;
  c.arch = "lenet";
  c.width = 0.25;
  return c;
}

/// Uniform noise images in the [-1, 1] input scale with random labels.
inline data::Dataset random_images(int64_t n, uint64_t seed, int64_t num_classes = 10) {
  torch::manual_seed(seed);
  data::Dataset d;
  d.name = "random";
  d.inputs = torch::rand({n, 1, 28, 28}) * 2 - 1;
  d.labels = torch::randint(num_classes, {n}, torch::kInt64);
  d.num_classes = num_classes;
  return d;
}

/// A learnable toy task: uniform noise with the columns of the image's class
/// band (10 bands across the width) brightened. Weak enough that tiny models
/// reach only ~50-60% and so make their own mistakes.
inline data::Dataset band_task(int64_t n, uint64_t seed, int64_t num_classes = 10) {
  torch::manual_seed(seed);
  data::Dataset d;
  d.name = "bands";
  d.labels = torch::randint(num_classes, {n}, torch::kInt64);
  auto band = torch::zeros({num_classes, 28});
  for (int64_t col = 0; col < 28; ++col) band[col * num_classes / 28][col] = 1.0;
  const auto bright = band.index_select(0, d.labels).view({n, 1, 1, 28});
  d.inputs = (torch::rand({n, 1, 28, 28}) * 2 - 1 + 0.3 * bright).clamp(-1, 1);
  d.num_classes = num_classes;
  return d;
}

inline nn::NetworkPtr fresh(const nn::ArchConfig& config, uint64_t seed) {
  torch::manual_seed(seed);
  return nn::make_network(config);
}

/// Trains `net` in place (SGD, seeded) and returns it.
inline nn::NetworkPtr train(nn::NetworkPtr net, const data::Dataset& data, int64_t epochs, uint64_t seed,
                            double lr = 0.05, std::vector<std::string> layers = {}) {
  nn::TrainOptions o;
  o.epochs = epochs;
  o.lr = lr;
  o.seed = seed;
  o.batch_size = 64;
  o.trainable_layers = std::move(layers);
  nn::train_classifier(*net, data, o);
  return net;
}

/// A copy with every parameter moved by Gaussian noise of `relative` times
/// that tensor's spread: a stand-in for light fine-tuning.
inline nn::NetworkPtr perturbed(const nn::Network& net, double relative, uint64_t seed) {
  auto copy = nn::clone_network(net);
  torch::manual_seed(seed);
  torch::NoGradGuard no_grad;
  for (auto& p : copy->parameters()) p.add_(torch::randn_like(p) * (relative * p.std().item<double>()));
  return copy;
}

/// Copies every parameter whose name and shape match (e.g. a new head of
/// another size on the source's body: transfer learning).
inline void copy_matching(const nn::Network& from, nn::Network& to) {
  torch::NoGradGuard no_grad;
  auto source = from.named_parameters();
  for (auto& p : to.named_parameters()) {
    const torch::Tensor* s = source.find(p.key());
    if (s != nullptr && s->sizes() == p.value().sizes()) p.value().copy_(*s);
  }
}

inline double score(const std::string& detector, const ProbeSet& probes, const ModelOutputs& a,
                    const ModelOutputs& b) {
  return make_detector(detector)->compare(probes, a, b).score;
}

}  // namespace modeldna::evidence::testing
