#include "modeldna/nn/compress.h"

#include "modeldna/core/error.h"

namespace modeldna::nn {

std::function<void()> prune_by_magnitude(Network& net, double fraction) {
  MDNA_CHECK(fraction >= 0 && fraction < 1, "pruning fraction must be in [0, 1)");
  torch::NoGradGuard no_grad;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> masked;  // (weight, mask)
  for (auto& w : net.parameters()) {
    if (w.dim() < 2) continue;
    const auto k = static_cast<int64_t>(fraction * static_cast<double>(w.numel()));
    if (k == 0) continue;
    const auto threshold = std::get<0>(w.abs().flatten().kthvalue(k));
    auto mask = w.abs().gt(threshold).to(w.dtype());
    w.mul_(mask);
    masked.emplace_back(w, mask);
  }
  return [masked] {
    torch::NoGradGuard guard;
    for (const auto& [w, mask] : masked) w.mul_(mask);
  };
}

Int8PerTensor to_int8_per_tensor(const torch::Tensor& weights) {
  const auto scale = (weights.abs().max().clamp_min(1e-12) / 127.0).reshape({});
  return {(weights / scale).round().clamp(-127, 127).to(torch::kInt8), scale};
}

void quantize_int8_per_tensor(Network& net) {
  torch::NoGradGuard no_grad;
  for (auto& w : net.parameters()) {
    if (w.dim() < 2) continue;
    // The arithmetic of loading an int8 file, so a save and reload is exact.
    const auto q = to_int8_per_tensor(w);
    w.copy_(q.values.to(torch::kFloat32) * q.scale);
  }
}

}  // namespace modeldna::nn
