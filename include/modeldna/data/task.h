// File: modeldna/data/task.h
// A task is what a model is trained to do: a named, documented recipe that
// turns a real dataset into train and test splits. The zoo trains sources on
// the source task and targets on the target tasks (docs/tasks.md).
#pragma once

#include <string>
#include <vector>

#include "modeldna/data/dataset.h"

namespace modeldna::data {

struct TaskInfo {
  std::string name;
  std::string description;
  int64_t num_classes = 10;
};

struct TaskSplits {
  Dataset train;
  Dataset test;
};

/// Caps on split sizes; 0 means "all the task has".
struct TaskSize {
  int64_t max_train = 0;
  int64_t max_test = 0;
};

/// The task every source model is trained on.
inline constexpr const char* kSourceTask = "fashion";

/// Every task, the source task first.
const std::vector<TaskInfo>& list_tasks();

/// The target tasks (every task but the source task), in a fixed order.
std::vector<std::string> target_task_names();

/// Builds a task's splits from the real data; UsageError for an unknown name.
TaskSplits load_task(const std::string& name, const TaskSize& size = {});

}  // namespace modeldna::data
