// The tiny text zoo, as the CLI builds it for the tiny_text_zoo fixture
// (`modeldna zoo build --modality text --preset tiny`): lineage, tokenizer, files
// and accuracies.
#include <torch/types.h>

#include <cstdlib>
#include <set>
#include <string>

#include "modeldna/data/task.h"
#include "modeldna/data/tokenizer.h"
#include "modeldna/nn/model_file.h"
#include "modeldna/nn/train.h"
#include "modeldna/zoo/preset.h"
#include "modeldna/zoo/zoo_models.h"
#include "test_support.h"

namespace modeldna::zoo {
namespace {

class TinyTextZoo : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* dir = std::getenv("MODELDNA_TINY_TEXT_ZOO");
    ASSERT_NE(dir, nullptr) << "run through ctest (the tiny_text_zoo fixture builds the zoo)";
    zoo_ = std::make_unique<ZooModels>(dir);
  }

  const ModelPlan& planned(const std::string& id) const {
    for (const auto& m : plan_.models)
      if (m.id == id) return m;
    throw std::runtime_error("no planned model " + id);
  }

  std::unique_ptr<ZooModels> zoo_;
  const ZooPlan plan_ = make_preset("tiny", data::Modality::Text);
};

TEST_F(TinyTextZoo, FollowsThePlanWithEveryRelation) {
  const auto& m = zoo_->manifest();
  EXPECT_EQ(m.modality, data::Modality::Text);
  EXPECT_EQ(m.seq_len, plan_.seq_len);
  ASSERT_EQ(m.models.size(), plan_.models.size());
  std::set<std::string> relations, distilled_archs;
  std::set<int64_t> replace_ks;
  for (size_t i = 0; i < m.models.size(); ++i) {
    SCOPED_TRACE(plan_.models[i].id);
    EXPECT_EQ(m.models[i].id, plan_.models[i].id);
    EXPECT_EQ(m.models[i].arch, plan_.models[i].arch.to_json());
    relations.insert(std::string(derivation_name(m.models[i].relation)));
    if (m.models[i].relation == Derivation::ReplaceLastK) replace_ks.insert(m.models[i].k);
    if (m.models[i].relation == Derivation::Distilled) distilled_archs.insert(m.models[i].arch["arch"].get<std::string>());
  }
  for (const std::string r : {"source", "finetune", "finetune-last-k", "scratch", "replace-last-k", "random-replace-3",
                              "pruned", "quantized", "distilled", "pretrain-finetune"})
    EXPECT_TRUE(relations.count(r)) << "no " << r << " model in manifest.json";
  EXPECT_EQ(replace_ks, (std::set<int64_t>{1, 2, 3}));
  EXPECT_EQ(distilled_archs, (std::set<std::string>{"text-transformer", "text-cnn"}));
}

TEST_F(TinyTextZoo, TokenizerSitsBesideTheModels) {
  const auto tokenizer = data::Tokenizer::load(zoo_->dir() + "/" + zoo_->manifest().tokenizer);
  EXPECT_EQ(tokenizer.vocab_size(), plan_.tokenizer.vocab_size);
  for (const auto& m : zoo_->manifest().models) EXPECT_EQ(m.arch.at("vocab_size"), tokenizer.vocab_size()) << m.id;
}

TEST_F(TinyTextZoo, EveryModelReloadsAndReproducesItsAccuracy) {
  for (const auto& m : zoo_->manifest().models) {
    SCOPED_TRACE(m.id);
    const auto net = zoo_->get(m.id);
    EXPECT_EQ(net->config().to_json(), m.arch);
    EXPECT_EQ(net->parameter_count(), m.parameters);
    const ModelPlan& p = planned(m.id);
    const auto test = zoo_->load_task(m.task, p.max_train, p.max_test).test;
    EXPECT_EQ(test.inputs.size(1), zoo_->manifest().seq_len);
    const double accuracy =
        net->config().head == nn::Head::MaskedLm ? nn::masked_lm_accuracy(*net, test.inputs) : nn::accuracy(*net, test);
    EXPECT_EQ(accuracy, m.test_accuracy);
  }
}

TEST_F(TinyTextZoo, TrainedModelsLearnedTheirTasks) {
  for (const auto& m : zoo_->manifest().models) {
    SCOPED_TRACE(m.id + " on " + m.task);
    if (m.task == data::kPretrainTask) {
      // Recovering masked pieces out of a 1,000-piece vocabulary: chance is
      // 0.001. Two tiny epochs reached 0.043 (BENCHMARKS.md); a broken
      // pre-training stays near chance.
      EXPECT_GT(m.test_accuracy, 0.01);
      continue;
    }
    const double chance = 1.0 / static_cast<double>(data::task_info(m.task).num_classes);
    if (m.relation == Derivation::Source || m.relation == Derivation::Finetune || m.relation == Derivation::Distilled ||
        m.relation == Derivation::PretrainFinetune) {
      EXPECT_GT(m.test_accuracy, chance + 0.05); }
  }
}

TEST_F(TinyTextZoo, PretrainedModelGetsANewHead) {
  for (const auto& m : zoo_->manifest().models) {
    if (m.relation != Derivation::PretrainFinetune) continue;
    SCOPED_TRACE(m.id);
    const auto child = zoo_->get(m.id), parent = zoo_->get(*m.parent);
    EXPECT_EQ(parent->config().head, nn::Head::MaskedLm);
    EXPECT_EQ(child->config().head, nn::Head::Classify);
    EXPECT_NE(child->config().num_classes, parent->config().num_classes);
    EXPECT_EQ(child->layer_names(), parent->layer_names());
    EXPECT_EQ(m.recipe.at("new_head"), child->config().num_classes);
  }
}

}  // namespace
}  // namespace modeldna::zoo
