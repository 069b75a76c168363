// File: modeldna/nn/train.h
// Training and evaluating classifiers. Every run is seeded: the same options on
// the same machine and thread count give the same weights bit for bit.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modeldna/core/error.h"
#include "modeldna/data/dataset.h"
#include "modeldna/nn/network.h"

namespace modeldna::nn {

/// Spelled "sgd" (with momentum) / "adam" in recipes.
enum class Optimizer { Sgd, Adam };
std::string_view optimizer_name(Optimizer optimizer);
std::optional<Optimizer> parse_optimizer(std::string_view name);

struct TrainOptions {
  Optimizer optimizer = Optimizer::Sgd;
  double lr = 0.05;
  double momentum = 0.9;
  double weight_decay = 5e-4;
  int64_t epochs = 1;
  int64_t batch_size = 128;
  /// From this epoch on (0-based) training goes on with a fresh optimizer at a
  /// tenth of the rate, as the MGMP reference code re-creates its optimizer.
  /// 0: never.
  int64_t lr_drop_epoch = 0;
  uint64_t seed = 0;
  /// Layers that learn; the others are frozen (BatchNorm statistics too).
  /// Empty: every layer learns.
  std::vector<std::string> trainable_layers;
  /// Called after every optimizer step (pruning re-applies its masks here).
  std::function<void()> after_step;

  /// The recipe as recorded in a zoo manifest.
  nlohmann::json to_json() const;
};

/// Thrown when the loss stops being finite; the network is then unusable.
class TrainingDiverged : public Error {
 public:
  using Error::Error;
};

/// Cross-entropy training on labelled data. Returns the last epoch's mean loss.
double train_classifier(Network& net, const data::Dataset& train, const TrainOptions& options);

/// Knowledge distillation: the student learns the teacher's outputs softened
/// by `temperature` (KL divergence, scaled by T^2); labels are not used.
double train_distillation(Network& student, Network& teacher, const data::Dataset& train,
                          const TrainOptions& options, double temperature);

/// Masked-language-model pre-training (BERT: 15% of the non-padding,
/// non-[CLS] positions chosen; of those 80% become [MASK], 10% a random
/// piece, 10% stay) on unlabelled token ids [n, seq_len]. `net` must have
/// head "masked-lm". Returns the last epoch's mean loss over chosen positions.
double train_masked_lm(Network& net, const torch::Tensor& tokens, const TrainOptions& options);

/// Next-token (causal language model) training on token ids [n, length]:
/// every position's logits against the token that follows it
/// (nn/language_model.h's CausalLm::token_logits). `net` must have head
/// "next-token". Returns the last epoch's mean loss per predicted token.
double train_next_token(Network& net, const torch::Tensor& tokens, const TrainOptions& options);

/// Top-1 accuracy of a "masked-lm" network at recovering masked tokens, with
/// the masks drawn from `seed` (the same seed gives the same masks).
double masked_lm_accuracy(Network& net, const torch::Tensor& tokens, uint64_t seed = 0);

/// Raw logits in eval mode, computed in batches; shape = [n, num_classes].
/// 128 per batch: on 2 cores a width-0.25 ResNet-18 ran faster than at 512
/// (BENCHMARKS.md, "MGMP in the reference setting", verify speed).
torch::Tensor predict_logits(Network& net, const torch::Tensor& inputs, int64_t batch_size = 128);

/// The logits and what the last layer read (Network::features), from one
/// forward pass in eval mode, in batches as predict_logits.
struct Predictions {
  torch::Tensor logits;    // [n, num_classes]
  torch::Tensor features;  // [n, feature_dim]
};
Predictions predict(Network& net, const torch::Tensor& inputs, int64_t batch_size = 128);

/// Replaces every BatchNorm layer's running statistics by those of `inputs`
/// (the average over batches of their means and unbiased variances), as if
/// the network had normalised only them; weights are untouched, the
/// network's mode and momenta are restored. Returns the number of BatchNorm
/// layers (0: nothing to do).
int64_t reestimate_batchnorm(Network& net, const torch::Tensor& inputs, int64_t batch_size = 256);

/// Top-1 accuracy in [0, 1].
double accuracy(Network& net, const data::Dataset& test);

}  // namespace modeldna::nn
