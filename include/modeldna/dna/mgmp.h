// File: modeldna/dna/mgmp.h
// MGMP (Mu et al., "Model Provenance via Model DNA", ECAI 2024): a DNA
// generator and a provenance classifier trained on known lineages, then asked
// whether a target derives from a source. docs/mgmp.md explains every choice.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "modeldna/data/dataset.h"
#include "modeldna/dna/generator.h"
#include "modeldna/nn/network.h"

namespace modeldna::dna {

/// How the generator and the classifier are trained: TwoStage, as the only
/// verified source (the authors' reference code) does: the generator, then
/// the classifier; or Joint, both optimised together on the summed losses,
/// which comes from a third-party summary of the paper, not from the paper.
enum class Schedule { TwoStage, Joint };
std::string_view schedule_name(Schedule schedule);  // "two-stage", "joint"
std::optional<Schedule> parse_schedule(std::string_view name);

/// What the model-driven half of a DNA reads of a model M on a probe x:
/// Logits, the paper's M(x); or Features (ours, not the paper's): M(x), then
/// what M's last layer read (nn::Network::features), centred, scaled to unit
/// length and projected on `feature_dims` fixed random directions. A model
/// whose units kept their source's order (a fine-tune, however far its
/// outputs moved) reads like its source there; a model trained from scratch
/// orders its units by chance (docs/mgmp.md, "Feature readout").
enum class Readout { Logits, Features };
std::string_view readout_name(Readout readout);  // "logits", "features"
std::optional<Readout> parse_readout(std::string_view name);

struct MgmpSettings {
  Schedule schedule = Schedule::TwoStage;
  /// false: the paper's ablation, DNA = model output only.
  bool use_generator = true;
  int64_t train_probes = 2000;   // drawn from the source task's training data
  int64_t verify_probes = 1000;  // disjoint from the training probes, recorded in the detector
  int64_t batch_size = 100;
  int64_t generator_epochs = 20;
  int64_t classifier_epochs = 20;
  double temperature = 30.0;
  /// Concat (the paper, the default) or Relation (ours: far better on text,
  /// mixed on images; BENCHMARKS.md "Relation features").
  PairFeatures pair_features = PairFeatures::Concat;
  Readout readout = Readout::Logits;
  int64_t feature_dims = 32;  // with Readout::Features
  double generator_lr = 1e-3, generator_momentum = 0.9, generator_weight_decay = 5e-4;
  double classifier_lr = 1e-3, classifier_weight_decay = 1e-6;
  uint64_t seed = 0;

  nlohmann::json to_json() const;
  static MgmpSettings from_json(const nlohmann::json& j);
};

/// One source with row-aligned homologous / non-homologous targets: pair i is
/// (homologous[i], non_homologous[i]), ideally trained on the same task.
struct TrainingGroup {
  std::string source_id;
  nn::NetworkPtr source;
  std::vector<std::pair<std::string, nn::NetworkPtr>> homologous;
  std::vector<std::pair<std::string, nn::NetworkPtr>> non_homologous;
};

/// Pool indices of the training probes and of the verification probes:
/// disjoint, the first `train` and the next `verify` entries of one
/// permutation drawn from torch's generator (MgmpDetector::train seeds it
/// with the settings' seed first).
struct ProbeSplit {
  torch::Tensor train, verify;  // int64
};
ProbeSplit split_probe_pool(int64_t pool_size, int64_t train, int64_t verify);

/// Called once per epoch: stage ("generator", "classifier", "joint"), epoch
/// (1-based), epochs, mean loss, estimated seconds left in training.
using TrainProgress = std::function<void(const std::string&, int64_t, int64_t, double, double)>;

/// The paper's per-probe accuracy on one matched pair, from each target's
/// P(homologous) per probe: how often the homologous target is called
/// homologous, the other non-homologous, and their mean.
struct PairAccuracy {
  double homologous = 0, non_homologous = 0, overall = 0;
};
PairAccuracy pair_accuracy(const torch::Tensor& homologous_probability, const torch::Tensor& non_homologous_probability);

/// The model-level answer for one (source, target) pair.
struct MgmpVerdict {
  bool homologous = false;     // probability >= 0.5 (docs/mgmp.md: aggregation rule)
  double probability = 0;      // mean over probes of P(homologous | probe)
  double probability_low = 0;  // 95% interval of that mean over probes (normal approximation)
  double probability_high = 0;
  double vote_fraction = 0;    // probes whose own verdict is homologous
  double vote_low = 0;         // 95% Wilson interval of the vote fraction
  double vote_high = 0;
  int64_t probes = 0;
  torch::Tensor per_probe;     // [probes] P(homologous)
};
/// As `modeldna verify --json` prints it (per-probe values left out).
nlohmann::json to_json(const MgmpVerdict& verdict);

class MgmpDetector {
 public:
  /// Trains generator and classifier. `probe_pool` is the source task's
  /// training data; probes are drawn from it with the settings' seed.
  static MgmpDetector train(const std::vector<TrainingGroup>& groups, const data::Dataset& probe_pool,
                            const MgmpSettings& settings, const TrainProgress& progress = {});

  /// Reads <dir>/detector.safetensors and <dir>/detector.json.
  static MgmpDetector load(const std::string& dir);
  /// Writes both files; `record` (e.g. which zoo models it saw) goes into the JSON.
  void save(const std::string& dir) const;

  const MgmpSettings& settings() const { return settings_; }
  /// The output size of every model the detector compares.
  int64_t outputs() const { return outputs_; }
  /// outputs(), plus feature_dims with Readout::Features.
  int64_t dna_dim() const { return dna_dim_; }
  /// The recorded verification probes: [verify_probes, C, H, W] images or
  /// [verify_probes, seq_len] token ids.
  const torch::Tensor& probes() const { return probes_; }
  const nn::InputSpec& probe_format() const { return format_; }
  /// Free-form training record saved in detector.json.
  nlohmann::json& record() { return record_; }
  const nlohmann::json& record() const { return record_; }

  /// What the DNA reads of a model (its readout) on the recorded probes,
  /// [P, dna_dim]; UsageError when its input or output shape does not fit
  /// the detector.
  torch::Tensor observe(nn::Network& model) const;
  /// The readout on any inputs of the probes' format.
  torch::Tensor read(nn::Network& model, const torch::Tensor& inputs) const;
  /// Why the detector cannot read `model` (its outputs, inputs or feature
  /// width differ from what it was trained on), or "" when it can.
  std::string cannot_read(nn::Network& model) const;
  /// DNA per probe from a model's readout on the recorded probes, [P, d].
  torch::Tensor dna(const torch::Tensor& probe_logits) const;
  /// P(homologous) per probe, [P].
  torch::Tensor homologous_probability(const torch::Tensor& source_logits, const torch::Tensor& target_logits) const;
  MgmpVerdict verdict(const torch::Tensor& source_logits, const torch::Tensor& target_logits) const;
  /// observe() of both, side by side on half the threads each.
  std::pair<torch::Tensor, torch::Tensor> observe_pair(nn::Network& source, nn::Network& target) const;
  MgmpVerdict verify(nn::Network& source, nn::Network& target) const;

 private:
  MgmpDetector(MgmpSettings settings, nn::InputSpec format, int64_t outputs);
  static int64_t feature_width(nn::Network& model);
  void cache_probe_encoding();
  /// Draws the projection for models whose features are as wide as
  /// `model`'s (Readout::Features).
  void add_projection(nn::Network& model);

  MgmpSettings settings_;
  nn::InputSpec format_;
  int64_t outputs_ = 10;
  int64_t dna_dim_ = 10;
  // Feature width -> [width, feature_dims] fixed random directions.
  std::map<int64_t, torch::Tensor> projections_;
  // Inference mutates nothing, but torch modules have no const forward.
  mutable DnaGenerator generator_{nullptr};
  mutable ProvenanceClassifier classifier_{nullptr};
  torch::Tensor probes_;          // [P, C, H, W] or [P, seq_len]
  torch::Tensor probe_encoding_;  // g(probes) in eval mode, [P, d] (zeros without generator)
  nlohmann::json record_;
};

}  // namespace modeldna::dna
