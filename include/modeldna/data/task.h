// File: modeldna/data/task.h
// A task is what a model is trained to do: a named, documented recipe that
// turns a real dataset into train and test splits. The zoo trains sources on
// a modality's source task and targets on its target tasks (docs/datasets.md).
// Image tasks give float images [n, 1, 28, 28]; text tasks give token ids
// int64 [n, seq_len] made with a Tokenizer (data/tokenizer.h).
#pragma once

#include <string>
#include <optional>
#include <string_view>
#include <vector>

#include "modeldna/data/dataset.h"
#include "modeldna/data/modality.h"
#include "modeldna/data/tokenizer.h"

namespace modeldna::data {


struct TaskInfo {
  std::string name;
  std::string description;
  int64_t num_classes = 10;  // 0 for unlabelled (pre-training) text
  Modality modality = Modality::Image;
};

struct TaskSplits {
  Dataset train;
  Dataset test;
};

struct TaskOptions {
  /// Caps on split sizes; 0 means "all the task has".
  int64_t max_train = 0;
  int64_t max_test = 0;
  /// Text tasks only: the tokenizer file (a zoo's tokenizer.model); required.
  std::string tokenizer;
  /// Text tasks only: tokens per input, [CLS] included.
  int64_t seq_len = 64;
};

/// The task every image source model is trained on.
inline constexpr const char* kSourceTask = "fashion";
/// The task every text source classifier is trained on.
inline constexpr const char* kTextSourceTask = "sotu-presidents-a";
/// Unlabelled text for masked-language-model pre-training (labels are all 0).
inline constexpr const char* kPretrainTask = "text-pretrain";

/// Every task: image tasks, then text tasks; each modality's source task first.
const std::vector<TaskInfo>& list_tasks();
/// UsageError for an unknown name.
const TaskInfo& task_info(const std::string& name);
/// The source task of a modality.
std::string source_task(Modality modality);

/// The target tasks of a modality (every labelled task but its source task),
/// in a fixed order.
std::vector<std::string> target_task_names(Modality modality = Modality::Image);

/// Builds a task's splits from the real data; UsageError for an unknown name
/// or a text task without a tokenizer.
TaskSplits load_task(const std::string& name, const TaskOptions& options = {});

/// Trains the tokenizer for text tasks on the training splits of every text
/// task (test passages are never seen).
Tokenizer train_text_tokenizer(const TokenizerOptions& options);

}  // namespace modeldna::data
