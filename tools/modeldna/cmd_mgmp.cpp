// modeldna train | dna | verify | eval: the MGMP detector.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli_support.h"
#include "commands.h"
#include "lab_commands.h"
#include "modeldna/core/error.h"
#include "modeldna/core/json_file.h"
#include "modeldna/bench/mgmp_experiment.h"
#include "modeldna/nn/model_file.h"
#include "modeldna/nn/tensor_io.h"

namespace modeldna::cli {
namespace {

struct MgmpOptions {
  std::string zoo, out, detector, model, source, target;
  std::string sources = "train";  // train | all | comma-separated ids
  std::string schedule = "two-stage", pair_features = "concat", readout = "logits";
  dna::MgmpSettings settings;
  bool no_generator = false;
  bool json = false;
};

std::vector<std::string> split_ids(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    const std::string part = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!part.empty()) out.push_back(part);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::vector<std::string> choose_sources(const zoo::Manifest& m, const std::string& which) {
  if (which == "train") return m.train_sources;
  if (which == "all") {
    std::vector<std::string> all = m.train_sources;
    all.insert(all.end(), m.heldout_sources.begin(), m.heldout_sources.end());
    return all;
  }
  return split_ids(which);
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

void add_train(CLI::App& app, const std::shared_ptr<MgmpOptions>& o) {
  auto* cmd = app.add_subcommand("train", lab_command_description("train"));
  add_zoo_option(cmd, o->zoo);
  cmd->add_option("--out", o->out, "Detector directory to write")->required();
  cmd->add_option("--sources", o->sources, "train (the zoo's training sources), all, or comma-separated ids");
  cmd->add_option("--schedule", o->schedule,
                  "two-stage (the default: the authors' reference code) or joint (from a summary of the paper)")
      ->check(CLI::IsMember({"two-stage", "joint"}));
  cmd->add_flag("--no-generator", o->no_generator, "Ablation: DNA = model outputs only");
  cmd->add_option("--pair-features", o->pair_features,
                  "concat (default, the paper: [a, b]) or relation (ours: [a, b, |a-b|, a*b]; better on text)")
      ->check(CLI::IsMember({"concat", "relation"}));
  cmd->add_option("--readout", o->readout,
                  "logits (default, the paper: DNA reads the model's outputs) or features (ours: also what its last "
                  "layer reads, projected; docs/mgmp.md)")
      ->check(CLI::IsMember({"logits", "features"}));
  cmd->add_option("--generator-epochs", o->settings.generator_epochs, "Stage-1 epochs");
  cmd->add_option("--classifier-epochs", o->settings.classifier_epochs, "Stage-2 epochs");
  cmd->add_option("--train-probes", o->settings.train_probes, "Probes the detector trains on");
  cmd->add_option("--verify-probes", o->settings.verify_probes, "Probes recorded for dna/verify");
  cmd->add_option("--batch-size", o->settings.batch_size, "Probes per batch");
  cmd->add_option("--seed", o->settings.seed, "Seed of probes and initialisation");
  add_json_flag(cmd, o->json, "Print the detector's record (settings, losses, timings) as JSON");
  cmd->callback([o] {
    o->settings.use_generator = !o->no_generator;
    o->settings.schedule = *dna::parse_schedule(o->schedule);  // CLI11 checked the name
    o->settings.pair_features = *dna::parse_pair_features(o->pair_features);
    o->settings.readout = *dna::parse_readout(o->readout);
    zoo::ZooModels zoo(o->zoo);
    const auto sources = choose_sources(zoo.manifest(), o->sources);
    auto groups = bench::mgmp_training_groups(zoo, sources);
    const auto pool = zoo.load_task(zoo.source_task()).train;
    size_t pairs = 0;
    for (const auto& g : groups) pairs += g.homologous.size();
    std::fprintf(stderr, "training MGMP (%s, %s readout, %s pair features%s) on %zu source(s), %zu homologous/non-homologous pairs\n",
                 o->schedule.c_str(), o->readout.c_str(), o->pair_features.c_str(),
                 o->settings.use_generator ? "" : ", no generator", groups.size(), pairs);
    auto detector = dna::MgmpDetector::train(
        groups, pool, o->settings, [](const std::string& stage, int64_t epoch, int64_t epochs, double loss, double left) {
          std::fprintf(stderr, "  %-10s epoch %3lld/%-3lld loss %.4f  ~%.0f s left\n", stage.c_str(),
                       static_cast<long long>(epoch), static_cast<long long>(epochs), loss, left);
        });
    detector.record()["zoo"] = o->zoo;
    detector.save(o->out);
    if (o->json) return print_json(detector.record());
    std::printf("detector written to %s (trained in %.1f s)\n", o->out.c_str(),
                detector.record()["train_seconds"].get<double>());
  });
}

void add_dna(CLI::App& app, const std::shared_ptr<MgmpOptions>& o) {
  auto* cmd = app.add_subcommand("dna", lab_command_description("dna"));
  cmd->add_option("model", o->model, "Model file (.safetensors)")->required();
  add_detector_option(cmd, o->detector)->required();
  cmd->add_option("--out", o->out, "Write the per-probe DNA [probes, d] here (.safetensors)");
  add_json_flag(cmd, o->json, "Print the DNA's per-dimension mean and standard deviation as JSON");
  cmd->callback([o] {
    const auto detector = dna::MgmpDetector::load(o->detector);
    auto model = nn::load_model(o->model).network;
    const auto dna = detector.dna(detector.observe(*model));
    // The fingerprint: per-dimension mean and standard deviation over the probes.
    const auto mean = dna.mean(0), sd = dna.std(0);
    nlohmann::json summary = {{"model", o->model}, {"probes", dna.size(0)}, {"dna_dim", dna.size(1)},
                              {"mean", std::vector<float>(mean.data_ptr<float>(), mean.data_ptr<float>() + mean.numel())},
                              {"std", std::vector<float>(sd.data_ptr<float>(), sd.data_ptr<float>() + sd.numel())}};
    if (!o->out.empty()) {
      nn::write_tensors(o->out, {{"dna", dna}}, {{"modeldna.format", "dna-v1"}, {"modeldna.model", o->model}});
      summary["per_probe_file"] = o->out;
    }
    if (o->json) return print_json(summary);
    std::printf("DNA of %s: %lld dimensions over %lld probes\n", o->model.c_str(), static_cast<long long>(dna.size(1)),
                static_cast<long long>(dna.size(0)));
    std::printf("%5s %12s %12s\n", "dim", "mean", "std");
    for (int64_t d = 0; d < mean.numel(); ++d)
      std::printf("%5lld %12.5g %12.5g\n", static_cast<long long>(d), mean[d].item<double>(), sd[d].item<double>());
    if (!o->out.empty()) std::printf("per-probe DNA written to %s\n", o->out.c_str());
  });
}

void add_verify(CLI::App& app, const std::shared_ptr<MgmpOptions>& o) {
  auto* cmd = app.add_subcommand("verify", lab_command_description("verify"));
  cmd->add_option("source", o->source, "Source model file")->required();
  cmd->add_option("target", o->target, "Target model file")->required();
  add_detector_option(cmd, o->detector)->required();
  add_json_flag(cmd, o->json);
  cmd->callback([o] {
    const auto start = std::chrono::steady_clock::now();
    const auto detector = dna::MgmpDetector::load(o->detector);
    auto source = nn::load_model(o->source).network;
    auto target = nn::load_model(o->target).network;
    const double load_seconds = seconds_since(start);
    const auto forward_start = std::chrono::steady_clock::now();
    const auto [source_readout, target_readout] = detector.observe_pair(*source, *target);
    const double forward_seconds = seconds_since(forward_start);
    const auto v = detector.verdict(source_readout, target_readout);
    const double total_seconds = seconds_since(start);
    if (o->json) {
      nlohmann::json out = {{"source", o->source}, {"target", o->target}};
      out.update(dna::to_json(v));
      out["seconds"] = {{"load", load_seconds}, {"forward", forward_seconds}, {"total", total_seconds}};
      return print_json(out);
    }
    std::printf("verdict: %s\n", v.homologous ? "HOMOLOGOUS (the target derives from the source)"
                                              : "NOT HOMOLOGOUS (no evidence the target derives from the source)");
    std::printf("probability: %.4f (95%% interval over probes %.4f-%.4f)\n", v.probability, v.probability_low,
                v.probability_high);
    std::printf("probe votes: %.1f%% of %lld probes say homologous (Wilson 95%% %.1f%%-%.1f%%)\n",
                100 * v.vote_fraction, static_cast<long long>(v.probes), 100 * v.vote_low, 100 * v.vote_high);
    std::printf("time: %.3f s (load %.3f s, forward passes %.3f s)\n", total_seconds, load_seconds, forward_seconds);
  });
}

void add_eval(CLI::App& app, const std::shared_ptr<MgmpOptions>& o) {
  auto* cmd = app.add_subcommand("eval", lab_command_description("eval"));
  add_zoo_option(cmd, o->zoo);
  add_detector_option(cmd, o->detector)->required();
  cmd->add_option("--out", o->out, "Also write eval.md and eval.json into this folder");
  add_json_flag(cmd, o->json, "Print every number as JSON instead of the Markdown tables");
  cmd->callback([o] {
    const auto detector = dna::MgmpDetector::load(o->detector);
    zoo::ZooModels zoo(o->zoo);
    const auto result = bench::evaluate_mgmp(detector, zoo);
    if (!o->out.empty()) {
      make_directories(o->out);
      write_json_file((std::filesystem::path(o->out) / "eval.json").string(), result.json);
      write_file_atomically((std::filesystem::path(o->out) / "eval.md").string(), result.markdown);
    }
    if (o->json) return print_json(result.json);
    std::printf("%s", result.markdown.c_str());
  });
}

}  // namespace

void add_mgmp_commands(CLI::App& app) {
  auto options = std::make_shared<MgmpOptions>();
  add_train(app, options);
  add_dna(app, options);
  add_verify(app, options);
  add_eval(app, options);
}

}  // namespace modeldna::cli
