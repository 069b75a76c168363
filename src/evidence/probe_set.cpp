#include "modeldna/evidence/probe_set.h"

#include <ATen/CPUGeneratorImpl.h>

#include <string>

#include "modeldna/core/error.h"
#include "modeldna/nn/tensor_io.h"
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

// Text counterparts. Noise: 15% of the real tokens (not [CLS], not padding)
// replaced by real tokens drawn from other probes, so the input stays in the
// vocabulary's distribution. CutMix: a probe's tokens up to a cut point, then
// its partner's tokens from there on (padding included), the cut uniform in
// [0.3, 0.7] of the sequence.
constexpr double kTokenNoise = 0.15;

torch::Tensor real_tokens(const torch::Tensor& ids) {
  auto real = ids.ne(0);
  real.select(1, 0).fill_(false);  // the leading [CLS]
  return real;
}

torch::Tensor noisy_tokens(const torch::Tensor& clean, at::Generator& gen) {
  const auto real = real_tokens(clean);
  const auto pool = clean.masked_select(real);
  if (pool.numel() == 0) return clean.clone();
  const auto chosen = torch::rand(clean.sizes(), gen, torch::kFloat64).lt(kTokenNoise).logical_and(real);
  const auto draws = torch::randint(pool.numel(), clean.sizes(), gen, torch::kInt64);
  return torch::where(chosen, pool.index_select(0, draws.flatten()).view(clean.sizes()), clean);
}

torch::Tensor spliced_tokens(const torch::Tensor& clean, at::Generator& gen) {
  const int64_t n = clean.size(0), length = clean.size(1);
  const auto partner = torch::randperm(n, gen, torch::kInt64);
  const auto fraction = kMinCutArea + (kMaxCutArea - kMinCutArea) * torch::rand({n, 1}, gen, torch::kFloat64);
  const auto cut = (fraction * length).round().clamp(1, length - 1);
  const auto from_partner = torch::arange(length, torch::kFloat64).unsqueeze(0).ge(cut);
  return torch::where(from_partner, clean.index_select(0, partner), clean);
}

}  // namespace

torch::Tensor ProbeSet::all_inputs() const { return torch::cat({clean, noisy, cutmix}); }

ProbeSet make_probe_set(const data::Dataset& source_data, int64_t n, uint64_t seed) {
  MDNA_CHECK(n > 0, "a probe set needs at least one probe");
  MDNA_CHECK(n <= source_data.size(), "asked for " + std::to_string(n) + " probes but '" + source_data.name +
                                          "' has only " + std::to_string(source_data.size()) + " images");
  const bool text = nn::InputSpec::of_batch(source_data.inputs).modality == data::Modality::Text;
  // A private generator: probes depend on the seed alone and the global torch
  // RNG (which drives network initialisation) is left untouched.
  auto gen = at::detail::createCPUGenerator(seed);
  const auto picked = torch::randperm(source_data.size(), gen, torch::kInt64).slice(0, 0, n);

  ProbeSet probes;
  probes.clean = source_data.inputs.index_select(0, picked).contiguous();
  probes.labels = source_data.labels.index_select(0, picked).contiguous();
  if (text) {
    probes.noisy = noisy_tokens(probes.clean, gen);
    probes.cutmix = spliced_tokens(probes.clean, gen);
    return probes;
  }
  const auto noise = torch::randn(probes.clean.sizes(), gen, probes.clean.options());
  probes.noisy = (probes.clean + kNoiseStd * noise).clamp(-1.0, 1.0);
  probes.cutmix = cutmix(probes.clean, gen);
  return probes;
}

ModelOutputs observe(std::string id, nn::NetworkPtr network, const ProbeSet& probes,
                     std::shared_ptr<const io::TensorStore> store) {
  MDNA_CHECK(network != nullptr, "observe: model '" + id + "' has no network");
  ModelOutputs out;
  out.logits = nn::predict_logits(*network, probes.all_inputs());
  out.id = std::move(id);
  // A network that never was a file is seen through its parameters, so the
  // white-box evidence applies to it too.
  out.store = store ? std::move(store) : nn::memory_store(nn::named_state(*network), out.id);
  out.network = std::move(network);
  return out;
}

ModelOutputs weights_only(std::string id, std::shared_ptr<const io::TensorStore> store) {
  MDNA_CHECK(store != nullptr, "weights_only: model '" + id + "' has no tensor store");
  ModelOutputs out;
  out.id = std::move(id);
  out.store = std::move(store);
  return out;
}

}  // namespace modeldna::evidence
