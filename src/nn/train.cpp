#include "modeldna/nn/train.h"

#include <torch/nn/functional/loss.h>
#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>
#include <c10/core/InferenceMode.h>

#include <cmath>
#include <set>

#include "masked_lm.h"
#include "modeldna/core/error.h"
#include "modeldna/nn/language_model.h"

namespace modeldna::nn {

std::string_view optimizer_name(Optimizer optimizer) {
  switch (optimizer) {
    case Optimizer::Sgd: return "sgd";
    case Optimizer::Adam: return "adam";
  }
  throw InternalError("invalid Optimizer");
}

std::optional<Optimizer> parse_optimizer(std::string_view name) {
  if (name == "sgd") return Optimizer::Sgd;
  if (name == "adam") return Optimizer::Adam;
  return std::nullopt;
}

nlohmann::json TrainOptions::to_json() const {
  nlohmann::json j = {{"optimizer", std::string(optimizer_name(optimizer))}, {"lr", lr}, {"epochs", epochs}, {"batch_size", batch_size},
                      {"weight_decay", weight_decay}, {"seed", seed}};
  if (optimizer == Optimizer::Sgd) j["momentum"] = momentum;
  if (!trainable_layers.empty()) j["trainable_layers"] = trainable_layers;
  if (lr_drop_epoch > 0) j["lr_drop_epoch"] = lr_drop_epoch;  // absent: older manifests' recipes read the same
  return j;
}

namespace {

// Puts the network in train mode with only the chosen layers learning.
std::vector<torch::Tensor> prepare_trainable(Network& net, const std::vector<std::string>& layers) {
  net.train();
  const std::set<std::string> wanted(layers.begin(), layers.end());
  for (const auto& name : layers)
    MDNA_CHECK(net.named_children().contains(name), "no layer '" + name + "' in " + net.config().arch);
  std::vector<torch::Tensor> params;
  for (auto& child : net.named_children()) {
    const bool learns = wanted.empty() || wanted.count(child.key());
    if (!learns) child.value()->eval();  // frozen BatchNorm keeps its statistics
    for (auto& p : child.value()->parameters()) {
      p.set_requires_grad(learns);
      if (learns) params.push_back(p);
    }
  }
  return params;
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const std::vector<torch::Tensor>& params,
                                                        const TrainOptions& o) {
  switch (o.optimizer) {
    case Optimizer::Sgd:
      return std::make_unique<torch::optim::SGD>(
          params, torch::optim::SGDOptions(o.lr).momentum(o.momentum).weight_decay(o.weight_decay));
    case Optimizer::Adam:
      return std::make_unique<torch::optim::Adam>(params,
                                                  torch::optim::AdamOptions(o.lr).weight_decay(o.weight_decay));
  }
  throw InternalError("an optimizer without a maker");
}

// One loop for every loss: `loss_of(batch_inputs, batch_labels)`, with
// `begin_epoch(epoch)` (if given) called before each epoch's first batch.
double run_epochs(Network& net, const data::Dataset& train, const TrainOptions& o,
                  const std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)>& loss_of,
                  const std::function<void(int64_t)>& begin_epoch = nullptr) {
  MDNA_CHECK(train.size() > 0, "empty training set '" + train.name + "'");
  MDNA_CHECK(o.epochs >= 0 && o.batch_size > 0, "epochs must be >= 0 and batch size > 0");
  MDNA_CHECK(o.lr_drop_epoch >= 0, "the learning-rate drop epoch must be >= 0");
  torch::manual_seed(o.seed);
  auto params = prepare_trainable(net, o.trainable_layers);
  auto optimizer = make_optimizer(params, o);
  double epoch_loss = 0;
  for (int64_t epoch = 0; epoch < o.epochs; ++epoch) {
    if (o.lr_drop_epoch > 0 && epoch == o.lr_drop_epoch) {
      TrainOptions dropped = o;
      dropped.lr = o.lr / 10;
      optimizer = make_optimizer(params, dropped);
    }
    if (begin_epoch) begin_epoch(epoch);
    const auto order = torch::randperm(train.size(), torch::kInt64);
    double total = 0;
    int64_t batches = 0;
    for (int64_t begin = 0; begin < train.size(); begin += o.batch_size) {
      const auto idx = order.slice(0, begin, std::min(begin + o.batch_size, train.size()));
      optimizer->zero_grad();
      auto loss = loss_of(train.inputs.index_select(0, idx), train.labels.index_select(0, idx));
      loss.backward();
      optimizer->step();
      if (o.after_step) o.after_step();
      const double value = loss.item<double>();
      if (!std::isfinite(value))
        throw TrainingDiverged("training diverged: loss " + std::to_string(value) + " in epoch " +
                               std::to_string(epoch + 1) + " at lr " + std::to_string(o.lr));
      total += value;
      ++batches;
    }
    epoch_loss = total / static_cast<double>(batches);
  }
  for (auto& p : net.parameters()) p.set_requires_grad(true);
  net.eval();
  return epoch_loss;
}

}  // namespace

double train_classifier(Network& net, const data::Dataset& train, const TrainOptions& options) {
  MDNA_CHECK(train.num_classes <= net.config().num_classes,
             "task '" + train.name + "' has " + std::to_string(train.num_classes) + " classes, the network " +
                 std::to_string(net.config().num_classes) + " outputs");
  return run_epochs(net, train, options, [&](const torch::Tensor& x, const torch::Tensor& y) {
    return torch::nn::functional::cross_entropy(net.forward(x), y);
  });
}

double train_distillation(Network& student, Network& teacher, const data::Dataset& train,
                          const TrainOptions& options, double temperature) {
  MDNA_CHECK(student.config().num_classes == teacher.config().num_classes,
             "distillation needs as many student outputs as teacher outputs");
  teacher.eval();
  return run_epochs(student, train, options, [&](const torch::Tensor& x, const torch::Tensor&) {
    torch::Tensor soft_targets;
    {
      torch::NoGradGuard no_grad;
      soft_targets = torch::softmax(teacher.forward(x) / temperature, 1);
    }
    const auto log_student = torch::log_softmax(student.forward(x) / temperature, 1);
    return torch::nn::functional::kl_div(
               log_student, soft_targets,
               torch::nn::functional::KLDivFuncOptions().reduction(torch::kBatchMean)) *
           (temperature * temperature);
  });
}

namespace {

// Mask seeds per epoch, apart from masked_lm_accuracy's plain seeds
// (splitmix64's finaliser).
uint64_t epoch_mask_seed(uint64_t seed, int64_t epoch) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(epoch + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void check_masked_lm(const Network& net, const torch::Tensor& tokens) {
  MDNA_CHECK(net.config().head == Head::MaskedLm,
             "'" + net.config().arch + "' with head '" + std::string(head_name(net.config().head)) +
                 "' is not a masked language model");
  MDNA_CHECK(tokens.dim() == 2 && tokens.scalar_type() == torch::kInt64, "masked-lm needs int64 [n, seq_len] token ids");
}

}  // namespace

double train_masked_lm(Network& net, const torch::Tensor& tokens, const TrainOptions& options) {
  check_masked_lm(net, tokens);
  // The loop wants a Dataset; the labels are unused.
  data::Dataset corpus;
  corpus.name = "masked-lm corpus";
  corpus.inputs = tokens;
  corpus.labels = torch::zeros({tokens.size(0)}, torch::kInt64);
  const int64_t vocab = net.config().input.vocab_size;
  at::Generator generator;
  return run_epochs(
      net, corpus, options,
      [&](const torch::Tensor& x, const torch::Tensor&) {
        const auto masked = mask_tokens(x, vocab, generator);
        const auto logits = masked_lm_logits(net, masked.inputs, masked.chosen);
        const auto targets = x.index({masked.chosen});
        // A batch of empty texts has nothing to predict: a zero loss, no NaN.
        if (targets.numel() == 0) return logits.sum();
        return torch::nn::functional::cross_entropy(logits, targets);
      },
      [&](int64_t epoch) { generator = mask_generator(epoch_mask_seed(options.seed, epoch)); });
}

double train_next_token(Network& net, const torch::Tensor& tokens, const TrainOptions& options) {
  auto* model = dynamic_cast<CausalLm*>(&net);
  MDNA_CHECK(model && net.config().head == Head::NextToken, "next-token training needs a decoder language model");
  MDNA_CHECK(tokens.dim() == 2 && tokens.size(1) >= 2 && tokens.scalar_type() == torch::kInt64,
             "next-token training reads int64 token ids [n, length >= 2]");
  data::Dataset corpus;
  corpus.name = "next-token corpus";
  corpus.inputs = tokens;
  corpus.labels = torch::zeros({tokens.size(0)}, torch::kInt64);
  const int64_t vocab = net.config().num_classes;
  return run_epochs(net, corpus, options, [&](const torch::Tensor& x, const torch::Tensor&) {
    const int64_t length = x.size(1);
    const auto logits = model->token_logits(x.slice(1, 0, length - 1));
    return torch::nn::functional::cross_entropy(logits.reshape({-1, vocab}), x.slice(1, 1).reshape({-1}));
  });
}

double masked_lm_accuracy(Network& net, const torch::Tensor& tokens, uint64_t seed) {
  check_masked_lm(net, tokens);
  c10::InferenceMode inference;
  net.eval();
  auto generator = mask_generator(seed);
  int64_t correct = 0, total = 0;
  constexpr int64_t kBatch = 512;
  for (int64_t begin = 0; begin < tokens.size(0); begin += kBatch) {
    const auto batch = tokens.slice(0, begin, begin + kBatch);
    const auto masked = mask_tokens(batch, net.config().input.vocab_size, generator, /*always_mask=*/true);
    const auto predicted = masked_lm_logits(net, masked.inputs, masked.chosen).argmax(1);
    correct += predicted.eq(batch.index({masked.chosen})).sum().item<int64_t>();
    total += masked.chosen.sum().item<int64_t>();
  }
  return total ? static_cast<double>(correct) / static_cast<double>(total) : 0.0;
}

namespace {

// Convolutions ran faster on channels-last weights here (BENCHMARKS.md,
// "MGMP in the reference setting"); the network gets its own tensors back afterwards, so
// nothing else (saving, hashing, training) sees another layout.
class ChannelsLastConvolutions {
 public:
  explicit ChannelsLastConvolutions(Network& net) {
    torch::NoGradGuard no_grad;
    for (auto& p : net.parameters()) {
      if (p.dim() != 4) continue;
      saved_.emplace_back(p, p.data());
      p.set_data(p.data().contiguous(at::MemoryFormat::ChannelsLast));
    }
  }
  ~ChannelsLastConvolutions() {
    torch::NoGradGuard no_grad;
    for (auto& [param, original] : saved_) param.set_data(original);
  }
  ChannelsLastConvolutions(const ChannelsLastConvolutions&) = delete;
  ChannelsLastConvolutions& operator=(const ChannelsLastConvolutions&) = delete;

 private:
  std::vector<std::pair<torch::Tensor, torch::Tensor>> saved_;
};

}  // namespace

namespace {

// `step` on each batch of `inputs` in eval mode, without autograd.
template <typename Step>
void in_batches(Network& net, const torch::Tensor& inputs, int64_t batch_size, Step step) {
  MDNA_CHECK(batch_size > 0, "batch size must be > 0");
  const ChannelsLastConvolutions layout(net);  // outlives the inference guard: set_data needs normal tensors
  // Inference mode skips autograd's version counting too, not only the graph.
  c10::InferenceMode inference;
  net.eval();
  for (int64_t begin = 0; begin < inputs.size(0); begin += batch_size) step(inputs.slice(0, begin, begin + batch_size));
}

torch::Tensor joined(const std::vector<torch::Tensor>& chunks, int64_t width) {
  return chunks.empty() ? torch::empty({0, width}) : torch::cat(chunks).contiguous();
}

}  // namespace

torch::Tensor predict_logits(Network& net, const torch::Tensor& inputs, int64_t batch_size) {
  std::vector<torch::Tensor> chunks;
  in_batches(net, inputs, batch_size, [&](const torch::Tensor& x) { chunks.push_back(net.forward(x)); });
  return joined(chunks, net.config().num_classes);
}

Predictions predict(Network& net, const torch::Tensor& inputs, int64_t batch_size) {
  std::vector<torch::Tensor> logits, features;
  in_batches(net, inputs, batch_size, [&](const torch::Tensor& x) {
    features.push_back(net.features(x));
    logits.push_back(net.classify(features.back()));
  });
  return {joined(logits, net.config().num_classes), joined(features, features.empty() ? 0 : features[0].size(1))};
}

double accuracy(Network& net, const data::Dataset& test) {
  if (test.size() == 0) return 0.0;
  const auto predicted = predict_logits(net, test.inputs).argmax(1);
  return predicted.eq(test.labels).to(torch::kFloat64).mean().item<double>();
}

}  // namespace modeldna::nn
