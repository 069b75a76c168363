#include "modeldna/zoo/zoo_models.h"

#include <algorithm>
#include <filesystem>

#include "modeldna/core/error.h"
#include "modeldna/nn/model_file.h"

namespace modeldna::zoo {

data::TaskOptions task_options(const std::string& zoo_dir, const Manifest& manifest, int64_t max_train,
                               int64_t max_test) {
  data::TaskOptions options;
  options.max_train = max_train;
  options.max_test = max_test;
  if (manifest.modality == data::Modality::Text) {
    options.tokenizer = (std::filesystem::path(zoo_dir) / manifest.tokenizer).string();
    options.seq_len = manifest.seq_len;
  }
  return options;
}

ZooModels::ZooModels(std::string dir) : dir_(std::move(dir)), manifest_(load_manifest(dir_)) {}

std::string ZooModels::path_of(const std::string& id) const {
  return (std::filesystem::path(dir_) / manifest_.at(id).file).string();
}

nn::NetworkPtr ZooModels::get(const std::string& id) {
  auto it = loaded_.find(id);
  if (it == loaded_.end()) it = loaded_.emplace(id, nn::load_model(path_of(id))).first;
  return it->second.network;
}

std::shared_ptr<const io::TensorStore> ZooModels::store(const std::string& id) {
  get(id);
  return loaded_.at(id).store;
}

std::string ZooModels::source_task() const { return data::source_task(manifest_.modality); }

data::TaskSplits ZooModels::load_task(const std::string& name, int64_t max_train, int64_t max_test) const {
  return data::load_task(name, task_options(dir_, manifest_, max_train, max_test));
}

std::vector<std::pair<const ZooModel*, const ZooModel*>> ZooModels::matched_pairs(
    const std::string& source, const std::vector<std::string>& tasks) const {
  const ZooModel& src = manifest_.at(source);
  std::vector<std::pair<const ZooModel*, const ZooModel*>> pairs;
  for (const auto& task : tasks) {
    const ZooModel* homologous = nullptr;
    const ZooModel* scratch = nullptr;
    for (const auto& m : manifest_.models) {
      if (m.task != task) continue;
      if (m.relation == Derivation::Finetune && m.parent == src.id) homologous = &m;
      if (m.relation == Derivation::Scratch && m.arch == src.arch) scratch = &m;
    }
    if (homologous && scratch) pairs.emplace_back(homologous, scratch);
  }
  return pairs;
}

}  // namespace modeldna::zoo
