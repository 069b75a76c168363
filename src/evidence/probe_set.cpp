#include "modeldna/evidence/probe_set.h"

#include <ATen/CPUGeneratorImpl.h>

#include <string>

#include "modeldna/core/error.h"
#include "modeldna/nn/train.h"

namespace modeldna::evidence {
namespace {

constexpr double kNoiseStd = 0.1;  // in the [-1, 1] input scale
constexpr double kMinCutArea = 0.3, kMaxCutArea = 0.7;

// CutMix (Yun et al. 2019) as SAC-m uses it: each image gets a rectangle
// pasted from another probe. The rectangle keeps the image's aspect ratio and
// covers a uniform [0.3, 0.7] of its area, so every mixture really is a blend
// of two images (SAC's code pastes a fixed 20% box near the border).
torch::Tensor cutmix(const torch::Tensor& clean, at::Generator& gen) {
  const int64_t n = clean.size(0), height = clean.size(2), width = clean.size(3);
  const auto partner = torch::randperm(n, gen, torch::kInt64);
  const auto draws = torch::rand({n, 3}, gen, torch::kFloat64);  // area, top, left
  const auto side = (kMinCutArea + (kMaxCutArea - kMinCutArea) * draws.select(1, 0)).sqrt();
  const auto cut_h = (side * height).round().clamp(1, height);
  const auto cut_w = (side * width).round().clamp(1, width);
  const auto top = (draws.select(1, 1) * (height - cut_h + 1)).floor();
  const auto left = (draws.select(1, 2) * (width - cut_w + 1)).floor();

  const auto rows = torch::arange(height, torch::kFloat64).unsqueeze(0);  // [1, H]
  const auto cols = torch::arange(width, torch::kFloat64).unsqueeze(0);   // [1, W]
  const auto in_rows = rows.ge(top.unsqueeze(1)).logical_and(rows.lt((top + cut_h).unsqueeze(1)));
  const auto in_cols = cols.ge(left.unsqueeze(1)).logical_and(cols.lt((left + cut_w).unsqueeze(1)));
  const auto box = in_rows.view({n, 1, height, 1}).logical_and(in_cols.view({n, 1, 1, width}));
  return torch::where(box, clean.index_select(0, partner), clean);
}

}  // namespace

torch::Tensor ProbeSet::all_inputs() const { return torch::cat({clean, noisy, cutmix}); }

ProbeSet make_probe_set(const data::Dataset& source_data, int64_t n, uint64_t seed) {
  MDNA_CHECK(n > 0, "a probe set needs at least one probe");
  MDNA_CHECK(n <= source_data.size(), "asked for " + std::to_string(n) + " probes but '" + source_data.name +
                                          "' has only " + std::to_string(source_data.size()) + " images");
  MDNA_CHECK(source_data.inputs.dim() == 4,
             "probe sets need image inputs [n, channels, height, width], got " +
                 std::to_string(source_data.inputs.dim()) + " dimensions");
  // A private generator: probes depend on the seed alone and the global torch
  // RNG (which drives network initialisation) is left untouched.
  auto gen = at::detail::createCPUGenerator(seed);
  const auto picked = torch::randperm(source_data.size(), gen, torch::kInt64).slice(0, 0, n);

  ProbeSet probes;
  probes.clean = source_data.inputs.index_select(0, picked).contiguous();
  probes.labels = source_data.labels.index_select(0, picked).contiguous();
  const auto noise = torch::randn(probes.clean.sizes(), gen, probes.clean.options());
  probes.noisy = (probes.clean + kNoiseStd * noise).clamp(-1.0, 1.0);
  probes.cutmix = cutmix(probes.clean, gen);
  return probes;
}

ModelOutputs observe(std::string id, nn::NetworkPtr network, const ProbeSet& probes) {
  MDNA_CHECK(network != nullptr, "observe: model '" + id + "' has no network");
  ModelOutputs out;
  out.logits = nn::predict_logits(*network, probes.all_inputs());
  out.id = std::move(id);
  out.network = std::move(network);
  return out;
}

}  // namespace modeldna::evidence
