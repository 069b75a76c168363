#include "modeldna/dna/mgmp.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <thread>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include "modeldna/core/error.h"
#include "modeldna/nn/train.h"

namespace modeldna::dna {

nlohmann::json MgmpSettings::to_json() const {
  return {{"schedule", std::string(schedule_name(schedule))},
          {"use_generator", use_generator},
          {"train_probes", train_probes},
          {"verify_probes", verify_probes},
          {"batch_size", batch_size},
          {"generator_epochs", generator_epochs},
          {"classifier_epochs", classifier_epochs},
          {"temperature", temperature},
          {"pair_features", std::string(pair_features_name(pair_features))},
          {"readout", std::string(readout_name(readout))},
          {"feature_dims", feature_dims},
          {"generator_optimizer", {{"type", std::string(nn::optimizer_name(nn::Optimizer::Sgd))}, {"lr", generator_lr}, {"momentum", generator_momentum},
                                   {"weight_decay", generator_weight_decay}}},
          {"classifier_optimizer", {{"type", std::string(nn::optimizer_name(nn::Optimizer::Adam))}, {"lr", classifier_lr},
                                    {"weight_decay", classifier_weight_decay}}},
          {"seed", seed}};
}

std::string_view schedule_name(Schedule schedule) {
  switch (schedule) {
    case Schedule::TwoStage: return "two-stage";
    case Schedule::Joint: return "joint";
  }
  throw InternalError("invalid Schedule");
}

std::string_view readout_name(Readout readout) {
  switch (readout) {
    case Readout::Logits: return "logits";
    case Readout::Features: return "features";
  }
  throw InternalError("invalid Readout");
}

std::optional<Readout> parse_readout(std::string_view name) {
  if (name == "logits") return Readout::Logits;
  if (name == "features") return Readout::Features;
  return std::nullopt;
}

std::optional<Schedule> parse_schedule(std::string_view name) {
  if (name == "two-stage") return Schedule::TwoStage;
  if (name == "joint") return Schedule::Joint;
  return std::nullopt;
}

MgmpSettings MgmpSettings::from_json(const nlohmann::json& j) {
  MgmpSettings s;
  const auto schedule = j.at("schedule").get<std::string>();
  const auto known_schedule = parse_schedule(schedule);
  MDNA_CHECK(known_schedule.has_value(), "schedule must be two-stage or joint, not '" + schedule + "'");
  s.schedule = *known_schedule;
  s.use_generator = j.at("use_generator").get<bool>();
  s.train_probes = j.at("train_probes").get<int64_t>();
  s.verify_probes = j.at("verify_probes").get<int64_t>();
  s.batch_size = j.at("batch_size").get<int64_t>();
  s.generator_epochs = j.at("generator_epochs").get<int64_t>();
  s.classifier_epochs = j.at("classifier_epochs").get<int64_t>();
  s.temperature = j.at("temperature").get<double>();
  const auto features = j.value("pair_features", "concat");  // absent in detectors written before the option
  const auto known_features = parse_pair_features(features);
  MDNA_CHECK(known_features.has_value(), "pair_features must be concat or relation, not '" + features + "'");
  s.pair_features = *known_features;
  const auto readout = j.value("readout", "logits");  // absent in detectors written before the option
  const auto known_readout = parse_readout(readout);
  MDNA_CHECK(known_readout.has_value(), "readout must be logits or features, not '" + readout + "'");
  s.readout = *known_readout;
  s.feature_dims = j.value("feature_dims", int64_t{32});
  MDNA_CHECK(s.feature_dims >= 1 && s.feature_dims <= 4096, "feature_dims must be in 1..4096");
  const auto& g = j.at("generator_optimizer");
  s.generator_lr = g.at("lr").get<double>();
  s.generator_momentum = g.at("momentum").get<double>();
  s.generator_weight_decay = g.at("weight_decay").get<double>();
  const auto& c = j.at("classifier_optimizer");
  s.classifier_lr = c.at("lr").get<double>();
  s.classifier_weight_decay = c.at("weight_decay").get<double>();
  s.seed = j.at("seed").get<uint64_t>();
  MDNA_CHECK(s.verify_probes > 0 && s.train_probes > 0 && s.batch_size > 0, "probe counts and batch size must be > 0");
  return s;
}

MgmpDetector::MgmpDetector(MgmpSettings settings, nn::InputSpec format, int64_t outputs)
    : settings_(std::move(settings)),
      format_(std::move(format)),
      outputs_(outputs),
      dna_dim_(outputs + (settings_.readout == Readout::Features ? settings_.feature_dims : 0)) {
  // The networks' initialisation is seeded, but building (or loading) a
  // detector must not change the process's random stream: the global
  // generator's state is put back afterwards.
  auto global = at::detail::getDefaultCPUGenerator();
  const auto state = global.get_state();
  torch::manual_seed(settings_.seed);
  generator_ = DnaGenerator(format_, dna_dim_);
  classifier_ = ProvenanceClassifier(dna_dim_, settings_.pair_features);
  global.set_state(state);
}

int64_t MgmpDetector::feature_width(nn::Network& model) {
  return nn::predict(model, model.config().example_input(2)).features.size(1);
}

void MgmpDetector::add_projection(nn::Network& model) {
  const int64_t width = feature_width(model);
  if (projections_.count(width)) return;
  // Its own generator: drawing must not move the process's random stream.
  auto gen = at::detail::createCPUGenerator(settings_.seed ^ (0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(width)));
  projections_[width] = at::randn({width, settings_.feature_dims}, gen, torch::kFloat32);
}

std::string MgmpDetector::cannot_read(nn::Network& model) const {
  const auto& c = model.config();
  if (c.num_classes != outputs_)
    return "MGMP compares DNAs output by output: this " + c.arch + " has " + std::to_string(c.num_classes) +
           " outputs, the detector was trained on models with " + std::to_string(outputs_) +
           " (a new head cannot be compared this way; the modeldiff, sac and weights detectors "
           "of `modeldna bench` work across output sizes)";
  if (c.input != format_)
    return "this " + c.arch + " reads " + c.input.describe() + ", the detector's probes are " + format_.describe();
  if (settings_.readout == Readout::Logits) return "";
  const int64_t width = feature_width(model);
  if (!projections_.count(width))
    return "this " + c.arch + "'s last layer reads " + std::to_string(width) +
           " features, a width the detector has not seen (a features readout reads only the architectures it was "
           "trained on)";
  return "";
}

torch::Tensor MgmpDetector::read(nn::Network& model, const torch::Tensor& inputs) const {
  if (const auto why = cannot_read(model); !why.empty()) throw UsageError(why);
  if (settings_.readout == Readout::Logits) return nn::predict_logits(model, inputs);
  const auto out = nn::predict(model, inputs);
  auto f = out.features - out.features.mean(1, /*keepdim=*/true);
  f = f / f.norm(2, 1, /*keepdim=*/true).clamp_min(1e-12);
  return torch::cat({out.logits, torch::matmul(f, projections_.at(out.features.size(1)))}, 1);
}

void MgmpDetector::cache_probe_encoding() {
  torch::NoGradGuard no_grad;
  if (!settings_.use_generator) {
    probe_encoding_ = torch::zeros({probes_.size(0), dna_dim_});
    return;
  }
  generator_->eval();
  std::vector<torch::Tensor> chunks;
  for (int64_t begin = 0; begin < probes_.size(0); begin += 512)
    chunks.push_back(generator_->forward(probes_.slice(0, begin, begin + 512)));
  probe_encoding_ = torch::cat(chunks);
}

torch::Tensor MgmpDetector::observe(nn::Network& model) const { return read(model, probes_); }

torch::Tensor MgmpDetector::dna(const torch::Tensor& probe_logits) const {
  MDNA_CHECK(probe_logits.sizes() == probe_encoding_.sizes(),
             "readouts must be [" + std::to_string(probe_encoding_.size(0)) + ", " + std::to_string(dna_dim_) +
                 "]: one row per recorded probe");
  return probe_encoding_ + probe_logits;
}

torch::Tensor MgmpDetector::homologous_probability(const torch::Tensor& source_logits,
                                                   const torch::Tensor& target_logits) const {
  torch::NoGradGuard no_grad;
  classifier_->eval();
  return torch::softmax(classifier_->forward(dna(source_logits), dna(target_logits)), 1).select(1, 1);
}

PairAccuracy pair_accuracy(const torch::Tensor& homologous_probability, const torch::Tensor& non_homologous_probability) {
  PairAccuracy a;
  a.homologous = homologous_probability.ge(0.5).to(torch::kFloat64).mean().item<double>();
  a.non_homologous = non_homologous_probability.lt(0.5).to(torch::kFloat64).mean().item<double>();
  a.overall = (a.homologous + a.non_homologous) / 2;
  return a;
}

nlohmann::json to_json(const MgmpVerdict& v) {
  return {{"homologous", v.homologous},
          {"probability", v.probability},
          {"probability_95ci", {v.probability_low, v.probability_high}},
          {"vote_fraction", v.vote_fraction},
          {"vote_fraction_95ci", {v.vote_low, v.vote_high}},
          {"probes", v.probes},
          {"rule", "homologous iff mean P(homologous) over probes >= 0.5"}};
}

MgmpVerdict MgmpDetector::verdict(const torch::Tensor& source_logits, const torch::Tensor& target_logits) const {
  MgmpVerdict v;
  v.per_probe = homologous_probability(source_logits, target_logits);
  v.probes = v.per_probe.size(0);
  const double n = static_cast<double>(v.probes);
  v.probability = v.per_probe.mean().item<double>();
  const double sd = v.probes > 1 ? v.per_probe.std().item<double>() : 0.0;
  v.probability_low = std::max(0.0, v.probability - 1.96 * sd / std::sqrt(n));
  v.probability_high = std::min(1.0, v.probability + 1.96 * sd / std::sqrt(n));
  v.vote_fraction = v.per_probe.ge(0.5).to(torch::kFloat64).mean().item<double>();
  // Wilson score interval, z = 1.96.
  const double z2 = 1.96 * 1.96, p = v.vote_fraction;
  const double centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const double half = 1.96 * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n);
  // The interval contains p; clamping guards against rounding at p = 0 or 1.
  v.vote_low = std::clamp(centre - half, 0.0, p);
  v.vote_high = std::clamp(centre + half, p, 1.0);
  v.homologous = v.probability >= 0.5;
  return v;
}

MgmpVerdict MgmpDetector::verify(nn::Network& source, nn::Network& target) const {
  const auto [source_readout, target_readout] = observe_pair(source, target);
  return verdict(source_readout, target_readout);
}

std::pair<torch::Tensor, torch::Tensor> MgmpDetector::observe_pair(nn::Network& source, nn::Network& target) const {
  // The two forward passes side by side, each on half the threads (torch's
  // OpenMP thread count is per calling thread): on 2 cores, faster than one
  // after the other on both (BENCHMARKS.md, "verify speed").
  const int threads = at::get_num_threads();
  if (threads < 2 || &source == &target) return {observe(source), observe(target)};
  torch::Tensor target_readout;
  std::exception_ptr target_failure;
  std::thread other([&] {
    try {
      at::set_num_threads(threads - threads / 2);
      target_readout = observe(target);
    } catch (...) {
      target_failure = std::current_exception();
    }
  });
  torch::Tensor source_readout;
  std::exception_ptr source_failure;
  at::set_num_threads(threads / 2);
  try {
    source_readout = observe(source);
  } catch (...) {
    source_failure = std::current_exception();
  }
  at::set_num_threads(threads);
  other.join();
  for (const auto& failure : {source_failure, target_failure})
    if (failure) std::rethrow_exception(failure);
  return {source_readout, target_readout};
}

}  // namespace modeldna::dna
