// Re-estimating BatchNorm statistics: the source's running statistics do not
// survive a fine-tune on inputs whose statistics differ (issue 13, BENCHMARKS
// "BatchNorm drift"); this measures how much of the difference that explains.
#include <torch/nn/modules/batchnorm.h>

#include "modeldna/core/error.h"
#include "modeldna/nn/train.h"

namespace modeldna::nn {
namespace {

// Every BatchNorm of a network with its options, whatever its dimension.
template <typename Visit>
void each_batchnorm(Network& net, const Visit& visit) {
  for (const auto& module : net.modules(/*include_self=*/false)) {
    if (auto* bn = module->as<torch::nn::BatchNorm1dImpl>()) visit(*bn);
    if (auto* bn = module->as<torch::nn::BatchNorm2dImpl>()) visit(*bn);
    if (auto* bn = module->as<torch::nn::BatchNorm3dImpl>()) visit(*bn);
  }
}

}  // namespace

int64_t reestimate_batchnorm(Network& net, const torch::Tensor& inputs, int64_t batch_size) {
  MDNA_CHECK(batch_size > 1 && inputs.dim() >= 1 && inputs.size(0) > 1,
             "re-estimating BatchNorm statistics needs at least 2 inputs and batches of at least 2");
  int64_t layers = 0;
  std::vector<c10::optional<double>> momenta;
  each_batchnorm(net, [&](auto& bn) {
    ++layers;
    momenta.push_back(bn.options.momentum());
    // No momentum: torch keeps the cumulative average over batches.
    bn.options.momentum(c10::nullopt);
    bn.reset_running_stats();
  });
  if (layers == 0) return 0;
  const bool was_training = net.is_training();
  net.train();
  {
    torch::NoGradGuard no_grad;
    for (int64_t begin = 0; begin < inputs.size(0); begin += batch_size) {
      // A last batch of one has no variance: it joins the one before.
      const int64_t end = inputs.size(0) - (begin + batch_size) < 2 ? inputs.size(0) : begin + batch_size;
      net.forward(inputs.slice(0, begin, end));
      if (end == inputs.size(0)) break;
    }
  }
  net.train(was_training);
  std::size_t next = 0;
  each_batchnorm(net, [&](auto& bn) { bn.options.momentum(momenta[next++]); });
  return layers;
}

}  // namespace modeldna::nn
