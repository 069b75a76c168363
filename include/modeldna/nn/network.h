// File: modeldna/nn/network.h
// The classifiers modeldna trains and inspects. A Network's top-level children
// are its layers, registered from input to output, so "the last k layers" is
// simply the last k children (layer replacement and layer-level evidence
// depend on that order).
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <memory>
#include <optional>
#include <string_view>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "modeldna/data/modality.h"
#include "modeldna/nn/input_spec.h"

namespace modeldna::nn {

/// What a network's output is. Spelled "classify" / "masked-lm" /
/// "next-token" in files.
enum class Head {
  Classify,  // logits over num_classes from the pooled output ([CLS] for text)
  MaskedLm,  // text-transformer only: a pre-trained language model; num_classes ==
             // vocab_size and forward() gives, per input, the mean over its
             // non-padding positions of the per-token vocabulary logits
  NextToken, // a decoder language model (nn/language_model.h): num_classes ==
             // vocab_size and forward() gives the next-token logits after the
             // last position of each input
};
std::string_view head_name(Head head);
std::optional<Head> parse_head(std::string_view name);

/// What is needed to rebuild an architecture; stored in every model file.
/// Image architectures read float images [batch, in_channels, image_size,
/// image_size]; text architectures read token ids int64 [batch, seq_len]
/// (data/tokenizer.h: id 0 is padding, id 2 the leading [CLS]).
struct ArchConfig {
  std::string arch;                             // "mlp", "lenet", "alexnet", "resnet18", "text-transformer", "text-cnn"
  InputSpec input = InputSpec::image(1, 28);    // its modality must be the architecture's
  int64_t num_classes = 10;
  double width = 1.0;                           // channel / unit multiplier
  Head head = Head::Classify;

  data::Modality modality() const { return input.modality; }
  /// A batch of valid inputs (zeros / [CLS] + padding), for shape checks.
  torch::Tensor example_input(int64_t batch) const;

  nlohmann::json to_json() const;
  /// Throws UsageError for a missing or ill-typed field.
  static ArchConfig from_json(const nlohmann::json& j);
  bool operator==(const ArchConfig& other) const;
};

class Network : public torch::nn::Module {
 public:
  explicit Network(ArchConfig config) : config_(std::move(config)) {}

  /// What the last layer reads: the penultimate representation, [batch,
  /// feature_dim] (MGMP's feature readout, docs/mgmp.md).
  virtual torch::Tensor features(torch::Tensor x) = 0;
  /// The last layer on features(x).
  virtual torch::Tensor classify(const torch::Tensor& features) = 0;
  /// Raw logits, shape = [batch, num_classes].
  torch::Tensor forward(torch::Tensor x) { return classify(features(std::move(x))); }

  const ArchConfig& config() const { return config_; }
  /// Layer names, input to output.
  std::vector<std::string> layer_names() const;
  /// The last k layer names; UsageError if the network has fewer layers.
  std::vector<std::string> last_layers(int64_t k) const;
  int64_t parameter_count() const;

 private:
  ArchConfig config_;
};

using NetworkPtr = std::shared_ptr<Network>;

/// Builds a freshly initialised network (initialisation follows the global
/// torch seed); UsageError for an unknown architecture.
NetworkPtr make_network(const ArchConfig& config);

/// What the registered architecture `name` reads; UsageError for an unknown name.
data::Modality architecture_modality(const std::string& name);

/// The registered architecture names with a one-line description each.
std::vector<std::pair<std::string, std::string>> architectures();

/// Copies parameters and buffers of `from` into `to` (same architecture).
void copy_state(const Network& from, Network& to);
/// Copies only the named layers (parameters and buffers under them).
void copy_layers(const Network& from, Network& to, const std::vector<std::string>& layers);
/// A deep copy: same config, same weights.
NetworkPtr clone_network(const Network& net);
/// A classifier grown from `pretrained` (BERT-style fine-tuning start): the
/// same architecture with head "classify" and `num_classes` outputs, every
/// layer but the last copied, the last (the head) freshly initialised.
NetworkPtr with_new_head(const Network& pretrained, int64_t num_classes);

}  // namespace modeldna::nn
