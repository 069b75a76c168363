// The image tasks against the raw Fashion-MNIST files: the reference
// preset's relabelled blocks.
#include <torch/torch.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "modeldna/data/dataset.h"
#include "modeldna/data/image_set.h"
#include "modeldna/data/task.h"
#include "test_support.h"

namespace modeldna::data {
namespace {

// The permutation a block's description states: "... p = (a,b,...)".
std::vector<int64_t> stated_permutation(const std::string& description) {
  const auto open = description.rfind('(');
  std::vector<int64_t> p;
  std::string digits = description.substr(open + 1);
  for (char c : digits)
    if (c >= '0' && c <= '9') p.push_back(c - '0');
  return p;
}

// Block k is images 30,000 + 3,000k onwards of the train split, unchanged,
// its labels mapped through its own stated permutation; the test split is
// all 10,000 test images under the same permutation.
TEST(FashionBlocks, AreDisjointShardsRelabelledByTheirOwnPermutation) {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz") &&
      std::getenv("MODELDNA_FASHION_MNIST_DIR") == nullptr)
    MODELDNA_MISSING("Debian package dataset-fashion-mnist");
  const Dataset raw_train = to_dataset(load_fashion_mnist(Split::Train), "fashion", 10);
  const Dataset raw_test = to_dataset(load_fashion_mnist(Split::Test), "fashion", 10);
  std::set<std::vector<int64_t>> permutations;
  for (int64_t k = 0; k < 10; ++k) {
    const std::string name = "fashion-block-" + std::to_string(k);
    SCOPED_TRACE(name);
    const auto p = stated_permutation(task_info(name).description);
    ASSERT_EQ(p.size(), 10u);
    EXPECT_EQ(std::set<int64_t>(p.begin(), p.end()).size(), 10u);  // a bijection
    permutations.insert(p);
    const TaskSplits splits = load_task(name);
    ASSERT_EQ(splits.train.size(), 3000);
    ASSERT_EQ(splits.test.size(), 10000);
    const Dataset expected = raw_train.slice(30000 + 3000 * k, 3000);
    EXPECT_TRUE(torch::equal(splits.train.inputs, expected.inputs));
    EXPECT_TRUE(torch::equal(splits.test.inputs, raw_test.inputs));
    const auto map = torch::tensor(p);
    EXPECT_TRUE(torch::equal(splits.train.labels, map.index_select(0, expected.labels)));
    EXPECT_TRUE(torch::equal(splits.test.labels, map.index_select(0, raw_test.labels)));
  }
  EXPECT_EQ(permutations.size(), 10u);  // every block has its own label order
}

}  // namespace
}  // namespace modeldna::data
