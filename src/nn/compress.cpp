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

void quantize_int8_per_tensor(Network& net) {
  torch::NoGradGuard no_grad;
  for (auto& w : net.parameters()) {
    if (w.dim() < 2) continue;
    // Same arithmetic as save_model's int8 path, so reloading is exact.
    const auto scale = w.abs().max().clamp_min(1e-12) / 127.0;
    w.copy_((w / scale).round().clamp(-127, 127).to(torch::kInt8).to(torch::kFloat32) * scale.reshape({}));
  }
}

}  // namespace modeldna::nn
