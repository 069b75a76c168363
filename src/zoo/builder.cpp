#include "modeldna/zoo/builder.h"

#include <chrono>
#include <filesystem>
#include <map>

#include "modeldna/core/error.h"
#include "modeldna/core/json_file.h"
#include "modeldna/core/sha256.h"
#include "modeldna/data/modality.h"
#include "modeldna/data/task.h"
#include "modeldna/nn/compress.h"
#include "modeldna/nn/model_file.h"
#include "modeldna/io/tensor_store.h"
#include "modeldna/nn/train.h"
#include "modeldna/zoo/zoo_models.h"

namespace modeldna::zoo {
namespace {

namespace fs = std::filesystem;

class ZooBuilder {
 public:
  ZooBuilder(const ZooPlan& plan, const BuildOptions& options) : plan_(plan), options_(options) {}

  Manifest run() {
    make_directories((fs::path(options_.out_dir) / "models").string());
    Manifest manifest;
    manifest.preset = plan_.preset;
    manifest.zoo_seed = plan_.zoo_seed;
    manifest.modality = plan_.modality;
    if (plan_.modality == data::Modality::Text) {
      manifest.tokenizer = kTokenizerFile;
      manifest.seq_len = plan_.seq_len;
    }
    header_ = manifest;
    manifest.train_tasks = plan_.train_tasks;
    manifest.test_tasks = plan_.test_tasks;
    manifest.train_sources = plan_.train_sources;
    manifest.heldout_sources = plan_.heldout_sources;
    // A text zoo's tokenizer comes first: every text model is made from it.
    if (plan_.modality == data::Modality::Text) {
      prepare_tokenizer();
      input_hashes_["tokenizer"] = io::file_sha256(tokenizer_path());
    }
    const Manifest previous = previous_manifest();
    for (const auto& step : plan_.models) {
      const nlohmann::json origin = built_from(step);
      const ZooModel* done = previous.find(step.id);
      const std::string stale = done ? why_stale(*done, origin) : "";
      if (done && stale.empty() && still_loads(step.id)) {
        manifest.models.push_back(*done);
        input_hashes_[step.id] = done->file_sha256;
        continue;
      }
      manifest.models.push_back(make(step, origin));
      save_manifest(options_.out_dir, manifest);
      if (options_.log) log(manifest.models.back(), manifest.models.size(), stale);
    }
    save_manifest(options_.out_dir, manifest);
    return manifest;
  }

 private:
  static std::string describe(data::Modality modality, const std::string& preset, uint64_t zoo_seed) {
    return std::string(data::modality_name(modality)) + " " + preset + " zoo built with zoo seed " + std::to_string(zoo_seed);
  }

  Manifest previous_manifest() const {
    if (!options_.resume || !fs::exists(manifest_path(options_.out_dir))) return {};
    Manifest m = load_manifest(options_.out_dir);
    // Resuming another zoo's folder would retrain every model over it: refuse.
    if (m.preset != plan_.preset || m.zoo_seed != plan_.zoo_seed || m.modality != plan_.modality)
      throw UsageError(manifest_path(options_.out_dir) + ": holds the " + describe(m.modality, m.preset, m.zoo_seed) +
                       ", not the " + describe(plan_.modality, plan_.preset, plan_.zoo_seed) +
                       "; give the same preset, modality and seed to resume it, or another output folder");
    return m;
  }

  static constexpr const char* kTokenizerFile = "tokenizer.model";
  std::string tokenizer_path() const { return (fs::path(options_.out_dir) / kTokenizerFile).string(); }

  // What `step` is made from now: its plan step, and the files of the models
  // (and the tokenizer) it is made from, by content. A model on disk is kept
  // only when it was made from exactly this, so a parent rebuilt with another
  // recipe takes its whole lineage with it.
  nlohmann::json built_from(const ModelPlan& step) const {
    const nlohmann::json plan = {{"id", step.id}, {"relation", std::string(derivation_name(step.relation))}, {"arch", step.arch.to_json()},
                                 {"parent", step.parent ? nlohmann::json(*step.parent) : nlohmann::json(nullptr)},
                                 {"base", step.base}, {"root", step.root}, {"k", step.k}, {"task", step.task},
                                 {"split", step.split}, {"recipe", step.recipe.to_json()}, {"max_train", step.max_train},
                                 {"max_test", step.max_test}, {"prune_fraction", step.prune_fraction},
                                 {"distill_temperature", step.distill_temperature}};
    const std::string text = plan.dump();
    nlohmann::json inputs = nlohmann::json::object();
    for (const std::string& id : {step.parent.value_or(""), step.base})
      if (!id.empty()) inputs[id] = input_hashes_.at(id);  // parents come first in a plan
    if (plan_.modality == data::Modality::Text) inputs["tokenizer"] = input_hashes_.at("tokenizer");
    return {{"plan", sha256_hex(text.data(), text.size())}, {"inputs", inputs}};
  }

  // Why a finished model no longer stands for its plan step ("" if it does).
  std::string why_stale(const ZooModel& done, const nlohmann::json& origin) const {
    if (done.built_from.empty() || done.file_sha256.empty()) return "its record predates lineage tracking";
    if (done.built_from.value("plan", "") != origin["plan"]) return "its plan step changed";
    for (const auto& [id, hash] : origin["inputs"].items())
      if (done.built_from["inputs"].value(id, "") != hash) return id + " changed since it was made";
    std::error_code ec;
    if (!fs::exists(file_of(done.id), ec)) return "its file is missing";
    if (io::file_sha256(file_of(done.id)) != done.file_sha256) return "its file changed since it was made";
    return "";
  }

  // A text zoo's tokenizer is made before any model and kept on resume when
  // it still loads with the planned vocabulary; models made from another one
  // are rebuilt (their built_from names its hash).
  void prepare_tokenizer() {
    const std::string path = tokenizer_path();
    if (options_.resume && fs::exists(path)) {
      try {
        if (data::Tokenizer::load(path).vocab_size() == plan_.tokenizer.vocab_size) return;
      } catch (const FormatError&) {
      }
    }
    const auto start = std::chrono::steady_clock::now();
    data::train_text_tokenizer(plan_.tokenizer).save(path);
    if (options_.log) {
      char line[512];
      std::snprintf(line, sizeof line, "tokenizer: %lld pieces in %.1f s -> %s",
                    static_cast<long long>(plan_.tokenizer.vocab_size),
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), path.c_str());
      options_.log(line);
    }
  }

  // A finished model is kept on resume only if its file still loads.
  bool still_loads(const std::string& id) {
    try {
      built_[id] = nn::load_model(file_of(id)).network;
      return true;
    } catch (const FormatError&) {
      return false;
    }
  }

  // A model made earlier in this run, or loaded from its file when resuming.
  nn::NetworkPtr model(const std::string& id) {
    auto it = built_.find(id);
    if (it != built_.end()) return it->second;
    auto net = nn::load_model(file_of(id)).network;
    built_[id] = net;
    return net;
  }

  std::string file_of(const std::string& id) const {
    return (fs::path(options_.out_dir) / "models" / (id + ".safetensors")).string();
  }

  const data::TaskSplits& task(const std::string& name, int64_t max_train, int64_t max_test) {
    const std::string key = name + "/" + std::to_string(max_train) + "/" + std::to_string(max_test);
    auto it = tasks_.find(key);
    if (it == tasks_.end())
      it = tasks_.emplace(key, data::load_task(name, task_options(options_.out_dir, header_, max_train, max_test))).first;
    return it->second;
  }

  nn::NetworkPtr fresh(const nn::ArchConfig& arch, uint64_t seed) {
    torch::manual_seed(seed);
    return nn::make_network(arch);
  }

  nn::NetworkPtr attempt(const ModelPlan& step, const data::TaskSplits& splits, nn::TrainOptions recipe,
                         nlohmann::json& recipe_json, bool& int8) {
    nn::NetworkPtr net;
    recipe_json = recipe.epochs > 0 ? recipe.to_json() : nlohmann::json::object();
    int8 = false;
    // A switch, so a relation added to the enum without a builder step is a
    // compiler warning (an error in CI), not a zoo silently missing models.
    switch (step.relation) {
      case Derivation::Source:
      case Derivation::Scratch:
        net = fresh(step.arch, recipe.seed);
        if (step.arch.head == nn::Head::MaskedLm) nn::train_masked_lm(*net, splits.train.inputs, recipe);
        else nn::train_classifier(*net, splits.train, recipe);
        break;
      case Derivation::PretrainFinetune:
        torch::manual_seed(recipe.seed);  // the new head's initialisation
        net = nn::with_new_head(*model(*step.parent), step.arch.num_classes);
        nn::train_classifier(*net, splits.train, recipe);
        recipe_json["new_head"] = step.arch.num_classes;
        break;
      case Derivation::Finetune:
      case Derivation::FinetuneLastK:
        net = nn::clone_network(*model(*step.parent));
        if (step.relation == Derivation::FinetuneLastK) recipe.trainable_layers = net->last_layers(step.k);
        recipe_json = recipe.to_json();
        nn::train_classifier(*net, splits.train, recipe);
        break;
      case Derivation::ReplaceLastK:
        net = nn::clone_network(*model(step.base));
        nn::copy_layers(*model(*step.parent), *net, net->last_layers(step.k));
        recipe_json = {{"base", step.base}, {"replaced_layers", net->last_layers(step.k)}};
        break;
      case Derivation::RandomReplace3:
        net = fresh(step.arch, recipe.seed);
        nn::copy_layers(*model(*step.parent), *net, net->last_layers(step.k));
        nn::train_classifier(*net, splits.train, recipe);
        recipe_json["replaced_layers"] = net->last_layers(step.k);
        break;
      case Derivation::Pruned:
        net = nn::clone_network(*model(*step.parent));
        recipe.after_step = nn::prune_by_magnitude(*net, step.prune_fraction);
        nn::train_classifier(*net, splits.train, recipe);
        recipe_json["prune_fraction"] = step.prune_fraction;
        break;
      case Derivation::Quantized:
        net = nn::clone_network(*model(*step.parent));
        nn::quantize_int8_per_tensor(*net);
        int8 = true;
        recipe_json = {{"quantization", nn::kInt8PerTensor}};
        break;
      case Derivation::Distilled:
        net = fresh(step.arch, recipe.seed);
        nn::train_distillation(*net, *model(*step.parent), splits.train, recipe, step.distill_temperature);
        recipe_json["temperature"] = step.distill_temperature;
        break;
    }
    MDNA_ASSERT(net, "zoo plan step " + step.id + ": no builder for its relation");
    return net;
  }

  // A run whose loss stops being finite is retried from scratch at half the
  // learning rate (at most kMaxHalvings times); the recipe records what ran.
  static constexpr int kMaxHalvings = 3;

  ZooModel make(const ModelPlan& step, const nlohmann::json& origin) {
    const auto start = std::chrono::steady_clock::now();
    const auto& splits = task(step.task, step.max_train, step.max_test);
    nn::TrainOptions recipe = step.recipe;
    nn::NetworkPtr net;
    nlohmann::json recipe_json;
    bool int8 = false;
    for (int halvings = 0;; ++halvings) {
      try {
        net = attempt(step, splits, recipe, recipe_json, int8);
        if (halvings > 0) recipe_json["lr_halvings_after_divergence"] = halvings;
        break;
      } catch (const nn::TrainingDiverged& e) {
        if (halvings == kMaxHalvings) throw Error(step.id + ": " + e.what());
        recipe.lr /= 2;
      }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    nn::SaveOptions save;
    save.int8_weights = int8;
    save.metadata = {{"modeldna.id", step.id}, {"modeldna.relation", std::string(derivation_name(step.relation))}, {"modeldna.task", step.task}};
    nn::save_model(file_of(step.id), *net, save);
    // Accuracy of what the file holds, so a reload reproduces it exactly.
    auto reloaded = nn::load_model(file_of(step.id)).network;
    built_[step.id] = reloaded;

    ZooModel rec;
    rec.id = step.id;
    rec.file = "models/" + step.id + ".safetensors";
    rec.arch = step.arch.to_json();
    rec.parent = step.parent;
    rec.root = step.root;
    rec.relation = step.relation;
    rec.k = step.k;
    rec.task = step.task;
    rec.split = step.split;
    rec.recipe = recipe_json;
    rec.seed = step.recipe.seed;
    rec.train_examples = step.recipe.epochs > 0 ? splits.train.size() : 0;
    // A language model's "accuracy" is how often it recovers masked tokens.
    rec.test_accuracy = step.arch.head == nn::Head::MaskedLm ? nn::masked_lm_accuracy(*reloaded, splits.test.inputs)
                                                      : nn::accuracy(*reloaded, splits.test);
    rec.parameters = reloaded->parameter_count();
    rec.train_seconds = seconds;
    rec.built_from = origin;
    rec.file_sha256 = io::file_sha256(file_of(step.id));
    input_hashes_[step.id] = rec.file_sha256;
    return rec;
  }

  void log(const ZooModel& m, size_t done, const std::string& stale) const {
    char line[256];
    std::snprintf(line, sizeof line, "[%zu/%zu] %-36s %-17s %-19s acc %.3f  %.1fs", done, plan_.models.size(),
                  m.id.c_str(), std::string(derivation_name(m.relation)).c_str(), m.task.c_str(), m.test_accuracy, m.train_seconds);
    options_.log(stale.empty() ? std::string(line) : std::string(line) + " (rebuilt: " + stale + ")");
  }

  const ZooPlan& plan_;
  const BuildOptions& options_;
  std::map<std::string, nn::NetworkPtr> built_;
  std::map<std::string, data::TaskSplits> tasks_;
  std::map<std::string, std::string> input_hashes_;  // model id or "tokenizer" -> sha256 of its file
  Manifest header_;  // the zoo-level fields (modality, tokenizer), for loading tasks
};

}  // namespace

Manifest build_zoo(const ZooPlan& plan, const BuildOptions& options) {
  return ZooBuilder(plan, options).run();
}

}  // namespace modeldna::zoo
