// Private to src/data: the text tasks (text_task.cpp), which task.cpp lists
// after the image tasks and dispatches to.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "modeldna/data/task.h"

namespace modeldna::data::text {

/// The text tasks, in list_tasks() order: source, the ten targets, pre-training.
const std::vector<TaskInfo>& infos();
bool is_text_task(const std::string& name);
/// `name` must be a text task.
TaskSplits load(const std::string& name, const TaskOptions& options);

/// The stable keys ("sotu/<file>#<passage>") of the passages load() returns,
/// row by row (for tests: splits are disjoint, caps keep the order).
struct SplitKeys {
  std::vector<std::string> train, test;
};
SplitKeys passage_keys(const std::string& name, const TaskOptions& options = {});

/// (key, text) of every passage train_text_tokenizer() trains on: the train
/// passages of every corpus, each once.
std::vector<std::pair<std::string, std::string>> tokenizer_passages();

}  // namespace modeldna::data::text
