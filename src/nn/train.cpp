#include "modeldna/nn/train.h"

#include <torch/nn/functional/loss.h>
#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>
#include <c10/core/InferenceMode.h>

#include <cmath>
#include <set>

#include "modeldna/core/error.h"

namespace modeldna::nn {

nlohmann::json TrainOptions::to_json() const {
  nlohmann::json j = {{"optimizer", optimizer}, {"lr", lr}, {"epochs", epochs}, {"batch_size", batch_size},
                      {"weight_decay", weight_decay}, {"seed", seed}};
  if (optimizer == "sgd") j["momentum"] = momentum;
  if (!trainable_layers.empty()) j["trainable_layers"] = trainable_layers;
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
  if (o.optimizer == "sgd")
    return std::make_unique<torch::optim::SGD>(
        params, torch::optim::SGDOptions(o.lr).momentum(o.momentum).weight_decay(o.weight_decay));
  if (o.optimizer == "adam")
    return std::make_unique<torch::optim::Adam>(params,
                                                torch::optim::AdamOptions(o.lr).weight_decay(o.weight_decay));
  throw UsageError("unknown optimizer '" + o.optimizer + "' (sgd or adam)");
}

// One loop for both losses: `loss_of(batch_inputs, batch_labels)`.
double run_epochs(Network& net, const data::Dataset& train, const TrainOptions& o,
                  const std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)>& loss_of) {
  MDNA_CHECK(train.size() > 0, "empty training set '" + train.name + "'");
  MDNA_CHECK(o.epochs >= 0 && o.batch_size > 0, "epochs must be >= 0 and batch size > 0");
  torch::manual_seed(o.seed);
  auto params = prepare_trainable(net, o.trainable_layers);
  auto optimizer = make_optimizer(params, o);
  double epoch_loss = 0;
  for (int64_t epoch = 0; epoch < o.epochs; ++epoch) {
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

torch::Tensor predict_logits(Network& net, const torch::Tensor& inputs, int64_t batch_size) {
  // Inference mode skips autograd's version counting too, not only the graph.
  c10::InferenceMode inference;
  net.eval();
  std::vector<torch::Tensor> chunks;
  for (int64_t begin = 0; begin < inputs.size(0); begin += batch_size)
    chunks.push_back(net.forward(inputs.slice(0, begin, begin + batch_size)));
  return chunks.empty() ? torch::empty({0, net.config().num_classes}) : torch::cat(chunks);
}

double accuracy(Network& net, const data::Dataset& test) {
  if (test.size() == 0) return 0.0;
  const auto predicted = predict_logits(net, test.inputs).argmax(1);
  return predicted.eq(test.labels).to(torch::kFloat64).mean().item<double>();
}

}  // namespace modeldna::nn
