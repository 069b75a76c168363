#include "modeldna/evidence/behaviour.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/functional/activation.h>

#include <chrono>
#include <cmath>

#include "detectors.h"
#include "modeldna/data/task.h"

namespace modeldna::evidence {
namespace {

constexpr int64_t kMinReferences = 3;

// log of the regularised incomplete beta I_x(a, b) by its continued
// fraction (Lentz), for the t distribution's tail.
double log_incomplete_beta(double a, double b, double x) {
  if (x <= 0) return -INFINITY;
  if (x >= 1) return 0;
  const bool flip = x > (a + 1) / (a + b + 2);
  if (flip) {
    const double other = std::exp(log_incomplete_beta(b, a, 1 - x));
    return std::log(std::max(1 - other, 1e-300));
  }
  const double log_front = std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x) - std::log(a);
  double c = 1, d = 1 - (a + b) * x / (a + 1);
  d = std::abs(d) < 1e-300 ? 1e300 : 1 / d;
  double f = d;
  for (int m = 1; m < 300; ++m) {
    const double num_even = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
    d = 1 + num_even * d;
    d = std::abs(d) < 1e-300 ? 1e300 : 1 / d;
    c = 1 + num_even / c;
    if (std::abs(c) < 1e-300) c = 1e-300;
    f *= c * d;
    const double num_odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
    d = 1 + num_odd * d;
    d = std::abs(d) < 1e-300 ? 1e300 : 1 / d;
    c = 1 + num_odd / c;
    if (std::abs(c) < 1e-300) c = 1e-300;
    const double step = c * d;
    f *= step;
    if (std::abs(step - 1) < 1e-12) break;
  }
  return log_front + std::log(f);
}

// Jensen-Shannon similarity per row of two logit matrices, averaged.
double js_similarity(const torch::Tensor& a, const torch::Tensor& b) {
  const auto p = torch::softmax(a.to(torch::kFloat64), 1), q = torch::softmax(b.to(torch::kFloat64), 1);
  const auto m = (p + q) / 2;
  auto kl = [&](const torch::Tensor& x) { return (x * ((x + 1e-300).log() - (m + 1e-300).log())).sum(1); };
  const auto jsd = (kl(p) + kl(q)) / 2;
  return (1 - jsd / std::log(2.0)).mean().item<double>();
}

double correlation_similarity(const torch::Tensor& a, const torch::Tensor& b) {
  auto corr = [](const torch::Tensor& x) {
    const auto u = detail::unit_rows(torch::softmax(x.to(torch::kFloat64), 1));
    return u.mm(u.t());
  };
  return 1 - (corr(a) - corr(b)).abs().mean().item<double>();
}

}  // namespace

double log10_student_upper_tail(double t, double df) {
  // The distribution is symmetric about 0: P(T >= 0) = 1/2, and below 0 the
  // tail is the complement of the mirrored one (t = -0.0 must not recurse).
  if (t == 0) return std::log10(0.5);
  if (t < 0) return std::log1p(-std::pow(10.0, log10_student_upper_tail(-t, df))) / std::log(10.0);
  // P(T >= t) = I_{df / (df + t^2)}(df / 2, 1 / 2) / 2
  return (log_incomplete_beta(df / 2, 0.5, df / (df + t * t)) - std::log(2.0)) / std::log(10.0);
}

double behavioural_similarity(const ProbeSet& probes, const ModelOutputs& source, const ModelOutputs& target) {
  detail::check_observed(probes, source);
  detail::check_observed(probes, target);
  if (source.logits.size(1) == target.logits.size(1)) return js_similarity(source.logits, target.logits);
  const int64_t n = probes.size();
  return correlation_similarity(source.cutmix(n), target.cutmix(n));
}

compare::BlackBoxEvidence behavioural_evidence(const ProbeSet& probes, const ModelOutputs& source,
                                               const ModelOutputs& target,
                                               const std::vector<const ModelOutputs*>& references) {
  compare::BlackBoxEvidence e;
  if (!source.logits.defined() || !target.logits.defined()) {
    e.reason = "both models must run (a built-in architecture) for behavioural evidence";
    return e;
  }
  torch::NoGradGuard no_grad;
  e.available = true;
  e.score = behavioural_similarity(probes, source, target);
  e.signals = nlohmann::json::object();
  e.signals["behavioural_similarity"] = e.score;
  if (source.logits.size(1) == target.logits.size(1)) {
    // Distillation matches softened outputs: the same at the usual T = 4, and
    // the logits' per-probe correlation (their whole shape, not the top class).
    e.signals["js_similarity_t4"] = js_similarity(source.logits / 4, target.logits / 4);
    const auto a = source.logits.to(torch::kFloat64), b = target.logits.to(torch::kFloat64);
    const auto ca = a - a.mean(1, true), cb = b - b.mean(1, true);
    e.signals["logit_correlation"] =
        ((ca * cb).sum(1) / (ca.norm(2, 1) * cb.norm(2, 1)).clamp_min(1e-12)).mean().item<double>();
  }
  e.signals["statistic"] = source.logits.size(1) == target.logits.size(1)
                               ? "mean Jensen-Shannon similarity of outputs on clean, noisy and CutMix probes"
                               : "similarity of output correlation matrices on CutMix probes (output sizes differ)";
  for (const auto& info : detector_table()) {
    // The black-box detectors that need nothing but the two models.
    if (info.access != Access::BlackBox || info.needs_mgmp_detector) continue;
    const auto ev = make_detector(info.name)->compare(probes, source, target);
    e.signals[info.name] = ev.applicable ? nlohmann::json{{"score", ev.score}, {"details", ev.details}}
                                    : nlohmann::json{{"not_applicable", ev.details.value("reason", "")}};
  }
  std::vector<double> panel;
  for (const ModelOutputs* r : references)
    if (r && r->logits.defined()) panel.push_back(behavioural_similarity(probes, source, *r));
  e.signals["references"] = panel.size();
  if (static_cast<int64_t>(panel.size()) < kMinReferences) {
    e.calibration = "none: " + std::to_string(panel.size()) + " reference models, " + std::to_string(kMinReferences) +
                    " needed";
    return e;
  }
  double mean = 0, var = 0;
  for (double v : panel) mean += v;
  mean /= static_cast<double>(panel.size());
  for (double v : panel) var += (v - mean) * (v - mean);
  var /= static_cast<double>(panel.size() - 1);
  const double r = static_cast<double>(panel.size());
  const double scale = std::sqrt(std::max(var, 1e-12) * (1 + 1 / r));
  const double t = (e.score - mean) / scale;
  e.log10_p = std::min(0.0, log10_student_upper_tail(t, r - 1));
  e.signals["reference_mean"] = mean;
  e.signals["reference_sd"] = std::sqrt(var);
  e.signals["t"] = t;
  e.calibration = "Student t prediction interval against " + std::to_string(panel.size()) +
                  " reference models (exact if their statistics are normal)";
  return e;
}

// Stored in fingerprints and indexed by registries (docs/spec/fingerprint-v4.md):
// this spelling must not change, unlike InputSpec::describe(), which is for people.
std::string input_kind(const nn::ArchConfig& arch) {
  const auto in = arch.input;
  if (in.modality == data::Modality::Text)
    return "token ids, vocabulary " + std::to_string(in.vocab_size) + ", length " + std::to_string(in.seq_len);
  return "images " + std::to_string(in.in_channels) + "x" + std::to_string(in.image_size) + "x" +
         std::to_string(in.image_size);
}

namespace {

data::Dataset probe_data(const nn::ArchConfig& arch, const BehaviourOptions& o) {
  if (arch.modality() != data::Modality::Text) {
    data::TaskOptions images;
    images.max_train = o.probes * 4;
    images.max_test = 1;
    return data::load_task(data::kSourceTask, images).train;
  }
  if (!o.tokenizer.empty()) {
    data::TaskOptions t;
    t.tokenizer = o.tokenizer;
    t.seq_len = arch.input.seq_len;
    t.max_train = o.probes * 4;
    t.max_test = 1;
    return data::load_task(data::source_task(data::Modality::Text), t).train;
  }
  // Random ids after [CLS] (id 2); 0-4 are reserved pieces.
  auto gen = at::detail::createCPUGenerator(o.seed + 17);
  data::Dataset d;
  d.name = "random tokens";
  d.inputs = torch::randint(5, arch.input.vocab_size, {o.probes, arch.input.seq_len}, gen, torch::kInt64);
  d.inputs.select(1, 0).fill_(2);
  d.labels = torch::zeros({o.probes}, torch::kInt64);
  d.num_classes = arch.num_classes;
  return d;
}

}  // namespace

ProbeSet behaviour_probes(const nn::ArchConfig& arch, const BehaviourOptions& o) {
  return make_probe_set(probe_data(arch, o), o.probes, o.seed);
}

}  // namespace modeldna::evidence
