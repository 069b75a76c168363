// File: modeldna/zoo/manifest.h
// manifest.json: the recorded lineage of every model in a zoo directory
// (docs/spec/manifest-v1.md).
#pragma once

#include <nlohmann/json.hpp>

#include "modeldna/data/modality.h"
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace modeldna::zoo {

inline constexpr int kManifestVersion = 1;

/// How a zoo model came to be (docs/zoo.md); the manifest spells each as
/// derivation_name() gives it.
enum class Derivation {
  Source,            // trained from scratch on the source task: a lineage root
  Finetune,          // all layers trained on from the parent
  FinetuneLastK,     // only the last k layers trained
  PretrainFinetune,  // a masked language model's encoder with a new classifier head
  Scratch,           // trained from scratch on a target task: a negative
  ReplaceLastK,      // a scratch model's first layers, the parent's last k
  RandomReplace3,    // fresh first layers, the parent's last 3, trained on
  Pruned,            // magnitude-pruned and trained on
  Quantized,         // int8 per tensor, no training
  Distilled,         // trained on the parent's outputs only
};
std::string_view derivation_name(Derivation relation);
/// The relation a manifest spells `name`; std::nullopt if none.
std::optional<Derivation> parse_derivation(std::string_view name);

/// How a model came to be. Negatives ("scratch", independent "source"s) have
/// no parent.
struct ZooModel {
  std::string id;
  std::string file;                   // relative to the zoo directory
  nlohmann::json arch;                // nn::ArchConfig as JSON
  std::optional<std::string> parent;  // the model it was derived from
  std::string root;                   // the source at the top of its lineage (its own id for sources, "" for scratch)
  Derivation relation = Derivation::Source;
  int64_t k = 0;                      // for the *-last-k and random-replace relations
  std::string task;                   // what it was trained for (data::list_tasks)
  std::string split;                  // "train" or "test": which detector split the pair belongs to
  nlohmann::json recipe;              // optimizer, lr, epochs, ... ({} if untrained)
  uint64_t seed = 0;
  int64_t train_examples = 0;
  double test_accuracy = 0;           // measured on the reloaded file
  int64_t parameters = 0;
  double train_seconds = 0;
  /// What it was made from: {"plan": digest of its plan step, "inputs":
  /// {model id or "tokenizer": sha256 of that file}}. Resuming keeps a model
  /// only when this still matches ({} in older manifests: rebuilt).
  nlohmann::json built_from = nlohmann::json::object();
  std::string file_sha256;            // of `file` as written ("" in older manifests)
};

struct Manifest {
  int version = kManifestVersion;
  std::string preset;
  uint64_t zoo_seed = 0;  // make_preset's zoo seed (absent in older manifests: 0)
  data::Modality modality = data::Modality::Image;  // absent in older manifests: image
  std::string tokenizer;                   // text zoos: the tokenizer file, relative to the zoo directory
  int64_t seq_len = 0;                     // text zoos: tokens per model input
  std::vector<std::string> train_tasks;    // target tasks whose pairs train detectors
  std::vector<std::string> test_tasks;     // held out
  std::vector<std::string> train_sources;  // sources detectors may train on
  std::vector<std::string> heldout_sources;
  std::vector<ZooModel> models;

  const ZooModel* find(const std::string& id) const;
  /// Like find(), but throws UsageError when absent.
  const ZooModel& at(const std::string& id) const;
  std::vector<const ZooModel*> sources() const;
};

/// The relation with k filled in: "replace-last-2", "finetune-last-2", ...
std::string derivation_label(const ZooModel& record);

nlohmann::json to_json(const Manifest& manifest);
/// Throws FormatError(path, ...) for a malformed document.
Manifest manifest_from_json(const nlohmann::json& doc, const std::string& path);

/// <dir>/manifest.json
std::string manifest_path(const std::string& zoo_dir);
Manifest load_manifest(const std::string& zoo_dir);
void save_manifest(const std::string& zoo_dir, const Manifest& manifest);

}  // namespace modeldna::zoo
