// File: modeldna/zoo/zoo_models.h
// A zoo opened for reading: its manifest, and its models loaded on demand
// (each file once).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "modeldna/data/task.h"
#include "modeldna/nn/model_file.h"
#include "modeldna/nn/network.h"
#include "modeldna/zoo/manifest.h"

namespace modeldna::zoo {

/// How a zoo's tasks are loaded: text zoos tokenise with their own
/// tokenizer file at their sequence length; image zoos need nothing.
data::TaskOptions task_options(const std::string& zoo_dir, const Manifest& manifest, int64_t max_train = 0,
                               int64_t max_test = 0);

class ZooModels {
 public:
  /// Reads <dir>/manifest.json; FormatError if missing or malformed.
  explicit ZooModels(std::string dir);

  const Manifest& manifest() const { return manifest_; }
  const std::string& dir() const { return dir_; }
  /// The model's file path.
  std::string path_of(const std::string& id) const;
  /// Loads (once) and returns the model; FormatError names the file if bad.
  nn::NetworkPtr get(const std::string& id);
  /// The model's file as data (loaded with the network, once).
  std::shared_ptr<const io::TensorStore> store(const std::string& id);
  /// The task its classifier sources were trained on (data::source_task).
  std::string source_task() const;
  /// A task's splits, tokenised as this zoo's models expect.
  data::TaskSplits load_task(const std::string& name, int64_t max_train = 0, int64_t max_test = 0) const;

  /// For MGMP-style training and evaluation: the finetune targets of `source`
  /// on `tasks`, each paired with the scratch model of the same architecture
  /// and task (the reference's matched homologous / non-homologous pairs).
  std::vector<std::pair<const ZooModel*, const ZooModel*>> matched_pairs(
      const std::string& source, const std::vector<std::string>& tasks) const;

 private:
  std::string dir_;
  Manifest manifest_;
  std::map<std::string, nn::LoadedModel> loaded_;
};

}  // namespace modeldna::zoo
