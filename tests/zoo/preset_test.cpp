#include "modeldna/zoo/preset.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "modeldna/core/error.h"
#include "modeldna/data/task.h"
#include "test_support.h"

namespace modeldna::zoo {
namespace {

const std::vector<std::string> kRelations = {"source",         "finetune",         "finetune-last-k", "scratch",
                                             "replace-last-k", "random-replace-3", "pruned",          "quantized",
                                             "distilled"};

// (preset name, modality)
class Preset : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {
 protected:
  const std::string name_ = std::get<0>(GetParam());
  const data::Modality modality_ = *data::parse_modality(std::get<1>(GetParam()));
  ZooPlan plan_ = make_preset(name_, modality_);
  bool text() const { return modality_ == data::Modality::Text; }

  std::map<std::string, const ModelPlan*> by_id() const {
    std::map<std::string, const ModelPlan*> out;
    for (const auto& m : plan_.models) out[m.id] = &m;
    return out;
  }
};

TEST_P(Preset, ContainsEveryRelation) {
  EXPECT_EQ(plan_.preset, name_);
  EXPECT_EQ(plan_.modality, modality_);
  auto expected = kRelations;
  if (text()) expected.push_back("pretrain-finetune");  // the relation NLP users meet most
  std::set<std::string> relations;
  std::set<int64_t> replace_ks;
  for (const auto& m : plan_.models) {
    relations.insert(std::string(derivation_name(m.relation)));
    if (m.relation == Derivation::ReplaceLastK) replace_ks.insert(m.k);
    if (m.relation == Derivation::RandomReplace3) { EXPECT_EQ(m.k, 3) << m.id; }
    if (m.relation == Derivation::FinetuneLastK) { EXPECT_GT(m.k, 0) << m.id; }
  }
  for (const auto& r : expected) EXPECT_TRUE(relations.count(r)) << "missing relation " << r;
  for (const auto& r : relations)
    EXPECT_NE(std::find(expected.begin(), expected.end(), r), expected.end()) << "unknown relation " << r;
  EXPECT_EQ(replace_ks, (std::set<int64_t>{1, 2, 3}));
}

TEST_P(Preset, DistillsIntoTheSameAndAnotherArchitecture) {
  const auto ids = by_id();
  bool same = false, other = false;
  for (const auto& m : plan_.models) {
    if (m.relation != Derivation::Distilled) continue;
    ASSERT_TRUE(m.parent.has_value()) << m.id;
    const ModelPlan& teacher = *ids.at(*m.parent);
    EXPECT_GT(m.distill_temperature, 0) << m.id;
    (m.arch.arch == teacher.arch.arch ? same : other) = true;
  }
  EXPECT_TRUE(same);
  EXPECT_TRUE(other);
}

TEST_P(Preset, IdsAreUniqueAndParentsComeFirst) {
  std::set<std::string> seen;
  for (const auto& m : plan_.models) {
    SCOPED_TRACE(m.id);
    EXPECT_FALSE(m.id.empty());
    if (m.parent) { EXPECT_TRUE(seen.count(*m.parent)) << "parent " << *m.parent << " comes later or is absent"; }
    if (!m.base.empty()) { EXPECT_TRUE(seen.count(m.base)) << "base " << m.base << " comes later or is absent"; }
    EXPECT_TRUE(seen.insert(m.id).second) << "duplicate id";
  }
}

TEST_P(Preset, LineagesAreConsistent) {
  const auto ids = by_id();
  for (const auto& m : plan_.models) {
    SCOPED_TRACE(m.id);
    EXPECT_EQ(m.arch.modality(), modality_);
    if (m.relation == Derivation::Source) {
      EXPECT_FALSE(m.parent.has_value());
      EXPECT_EQ(m.root, m.id);
      if (m.arch.head == nn::Head::MaskedLm) {
        EXPECT_EQ(m.task, data::kPretrainTask);
        EXPECT_EQ(m.arch.num_classes, m.arch.input.vocab_size);
      } else {
        EXPECT_EQ(m.task, data::source_task(modality_));
      }
    } else if (m.relation == Derivation::Scratch) {
      EXPECT_FALSE(m.parent.has_value());
      EXPECT_EQ(m.root, "");
    } else {
      ASSERT_TRUE(m.parent.has_value());
      const ModelPlan& parent = *ids.at(*m.parent);
      EXPECT_EQ(m.root, parent.root);
      EXPECT_EQ(ids.at(m.root)->relation, Derivation::Source);
      if (m.relation == Derivation::PretrainFinetune) {
        EXPECT_EQ(parent.arch.head, nn::Head::MaskedLm);
        EXPECT_EQ(m.arch.head, nn::Head::Classify);
        EXPECT_EQ(m.arch.arch, parent.arch.arch);
      } else if (m.relation != Derivation::Distilled) {
        EXPECT_EQ(m.arch, parent.arch);
      }
    }
    if (text()) {
      EXPECT_EQ(m.arch.input.vocab_size, plan_.tokenizer.vocab_size);
      EXPECT_EQ(m.arch.input.seq_len, plan_.seq_len);
    }
    if (m.relation == Derivation::ReplaceLastK) {
      ASSERT_FALSE(m.base.empty());
      EXPECT_EQ(ids.at(m.base)->relation, Derivation::Scratch);
      EXPECT_EQ(ids.at(m.base)->task, m.task);
      EXPECT_EQ(ids.at(m.base)->arch, m.arch);
    }
    if (m.relation == Derivation::Pruned) {
      EXPECT_GE(m.prune_fraction, 0.5);
      EXPECT_LT(m.prune_fraction, 1.0);
    }
    EXPECT_GT(m.max_test, 0);
    if (m.recipe.epochs > 0) { EXPECT_GT(m.max_train, 0); }
  }
}

TEST_P(Preset, TasksAndSplitsAreConsistent) {
  const auto targets = data::target_task_names(modality_);
  auto is_target = [&](const std::string& t) { return std::count(targets.begin(), targets.end(), t) > 0; };
  for (const auto& t : plan_.train_tasks) EXPECT_TRUE(is_target(t)) << t;
  for (const auto& t : plan_.test_tasks) {
    EXPECT_TRUE(is_target(t)) << t;
    EXPECT_EQ(std::count(plan_.train_tasks.begin(), plan_.train_tasks.end(), t), 0) << t << " on both sides";
  }
  EXPECT_FALSE(plan_.train_tasks.empty());
  EXPECT_FALSE(plan_.test_tasks.empty());
  for (const auto& m : plan_.models) {
    SCOPED_TRACE(m.id);
    EXPECT_TRUE(m.task == data::source_task(modality_) || is_target(m.task) ||
                (text() && m.task == data::kPretrainTask));
    EXPECT_TRUE(m.split == "train" || m.split == "test");
    if (std::count(plan_.train_tasks.begin(), plan_.train_tasks.end(), m.task)) { EXPECT_EQ(m.split, "train"); }
    if (std::count(plan_.test_tasks.begin(), plan_.test_tasks.end(), m.task)) { EXPECT_EQ(m.split, "test"); }
  }
  const auto ids = by_id();
  for (const auto& s : plan_.train_sources) EXPECT_EQ(ids.at(s)->relation, Derivation::Source);
  for (const auto& s : plan_.heldout_sources) {
    EXPECT_EQ(ids.at(s)->relation, Derivation::Source);
    EXPECT_EQ(std::count(plan_.train_sources.begin(), plan_.train_sources.end(), s), 0);
  }
  size_t sources = 0;
  for (const auto& m : plan_.models) sources += m.relation == Derivation::Source;
  EXPECT_EQ(plan_.train_sources.size() + plan_.heldout_sources.size(), sources);
}

TEST_P(Preset, IsDeterministic) {
  const ZooPlan again = make_preset(name_, modality_);
  ASSERT_EQ(again.models.size(), plan_.models.size());
  for (size_t i = 0; i < plan_.models.size(); ++i) {
    EXPECT_EQ(again.models[i].id, plan_.models[i].id);
    EXPECT_EQ(again.models[i].recipe.to_json(), plan_.models[i].recipe.to_json());
  }
}

TEST_P(Preset, AZooSeedKeepsTheLineageAndGivesEveryModelItsOwnSeed) {
  const ZooPlan other = make_preset(name_, modality_, 3);
  EXPECT_EQ(plan_.zoo_seed, 0u);
  EXPECT_EQ(other.zoo_seed, 3u);
  ASSERT_EQ(other.models.size(), plan_.models.size());
  std::set<uint64_t> seeds, first_seeds;
  for (size_t i = 0; i < plan_.models.size(); ++i) {
    EXPECT_EQ(other.models[i].id, plan_.models[i].id);
    EXPECT_EQ(other.models[i].parent, plan_.models[i].parent);
    EXPECT_NE(other.models[i].recipe.seed, plan_.models[i].recipe.seed);
    seeds.insert(other.models[i].recipe.seed);
    first_seeds.insert(plan_.models[i].recipe.seed);
  }
  // Models that shared a seed still do (a shift); no seed is zoo seed 0's.
  EXPECT_EQ(seeds.size(), first_seeds.size());
  for (uint64_t s : seeds) EXPECT_EQ(first_seeds.count(s), 0u) << "seed " << s << " is also zoo seed 0's";
}

// The reference preset has its own tests below: it holds only three relations.
INSTANTIATE_TEST_SUITE_P(Zoo, Preset,
                         ::testing::Combine(::testing::Values("tiny", "paper"), ::testing::Values("image", "text")));

TEST(PresetNames, AreTinyPaperAndReference) {
  EXPECT_EQ(preset_names(), (std::vector<std::string>{"tiny", "paper", "reference"}));
  EXPECT_THROW_MSG(make_preset("huge"), UsageError, "unknown zoo preset 'huge'");
  EXPECT_THROW_MSG(make_preset("reference", data::Modality::Text), UsageError, "for images");
  EXPECT_EQ(data::parse_modality("audio"), std::nullopt);  // no such zoo can be asked for
}

class PaperPreset : public ::testing::TestWithParam<data::Modality> {};

TEST_P(PaperPreset, HasTwoArchitecturesTwoSeedsAndTenTargetTasks) {
  const ZooPlan plan = make_preset("paper", GetParam());
  std::map<std::string, int> sources_per_arch;
  std::set<uint64_t> seeds;
  for (const auto& m : plan.models)
    if (m.relation == Derivation::Source) {
      ++sources_per_arch[m.arch.arch];
      seeds.insert(m.recipe.seed);
    }
  EXPECT_GE(sources_per_arch.size(), 2u);
  for (const auto& m : plan.models)
    if (m.relation == Derivation::Source && m.arch.head == nn::Head::MaskedLm) --sources_per_arch[m.arch.arch];
  for (const auto& [arch, n] : sources_per_arch) EXPECT_GE(n, 2) << arch << " classifier sources";
  EXPECT_GE(seeds.size(), 2u);
  EXPECT_GE(plan.train_tasks.size() + plan.test_tasks.size(), 10u);
  EXPECT_GE(plan.train_sources.size(), 2u);
  EXPECT_GE(plan.heldout_sources.size(), 2u);
}

INSTANTIATE_TEST_SUITE_P(Zoo, PaperPreset, ::testing::Values(data::Modality::Image, data::Modality::Text));

// Exchangeable: a detector must not learn what only the training side's
// tasks look like, so each side has a label permutation (and a rotation).
TEST(PaperPreset, EachSideHasALabelPermutationAndARotation) {
  const ZooPlan plan = make_preset("paper");
  const std::set<std::string> relabelled = {"fashion-permuted", "fashion-transposed", "mnist-permuted"};
  for (const auto* side : {&plan.train_tasks, &plan.test_tasks}) {
    EXPECT_TRUE(std::any_of(side->begin(), side->end(), [&](const std::string& t) { return relabelled.count(t) > 0; }));
    EXPECT_TRUE(std::any_of(side->begin(), side->end(), [](const std::string& t) { return t.find("-rot") != std::string::npos; }));
  }
}

int64_t steps(const ModelPlan& m) {
  return m.recipe.epochs * ((m.max_train + m.recipe.batch_size - 1) / m.recipe.batch_size);
}

TEST(ReferencePreset, IsTheReferencesSetting) {
  const ZooPlan plan = make_preset("reference");
  EXPECT_EQ(plan.preset, "reference");
  EXPECT_EQ(plan.train_tasks.size(), 5u);
  EXPECT_EQ(plan.test_tasks.size(), 5u);
  std::set<std::string> tasks(plan.train_tasks.begin(), plan.train_tasks.end());
  tasks.insert(plan.test_tasks.begin(), plan.test_tasks.end());
  std::set<std::string> blocks;
  for (int k = 0; k < 10; ++k) blocks.insert("fashion-block-" + std::to_string(k));
  EXPECT_EQ(tasks, blocks);  // ten relabelled blocks of the probes' own distribution, five and five
  EXPECT_NE(plan.train_tasks, (std::vector<std::string>{"fashion-block-0", "fashion-block-1", "fashion-block-2",
                                                        "fashion-block-3", "fashion-block-4"}));  // drawn, not in order
  std::map<Derivation, int> per_relation;
  int64_t source_steps = 0;
  for (const auto& m : plan.models) {
    SCOPED_TRACE(m.id);
    ++per_relation[m.relation];
    EXPECT_EQ(m.arch.arch, "resnet18");
    if (m.relation == Derivation::Source) {
      EXPECT_EQ(m.max_train, 30000);
      EXPECT_GT(m.recipe.lr_drop_epoch, 0);
      EXPECT_LT(m.recipe.lr_drop_epoch, m.recipe.epochs);
      source_steps = steps(m);
    }
  }
  EXPECT_EQ(per_relation, (std::map<Derivation, int>{{Derivation::Source, 2}, {Derivation::Finetune, 20}, {Derivation::Scratch, 10}}));
  EXPECT_EQ(plan.train_sources.size(), 1u);
  EXPECT_EQ(plan.heldout_sources.size(), 1u);
  nlohmann::json recipe;
  for (const auto& m : plan.models) {
    if (m.relation == Derivation::Source) continue;
    SCOPED_TRACE(m.id);
    nlohmann::json r = m.recipe.to_json();
    r.erase("seed");
    if (recipe.is_null()) recipe = r;
    EXPECT_EQ(r, recipe);  // one recipe for fine-tuned and scratch targets
    EXPECT_FALSE(r.contains("trainable_layers"));  // all layers learn
    EXPECT_EQ(m.max_train, 3000);
    EXPECT_NEAR(static_cast<double>(steps(m)) / static_cast<double>(source_steps), 0.1, 0.02);
  }
}

TEST(TinyPreset, IsSmall) {
  const ZooPlan plan = make_preset("tiny");
  for (const auto& m : plan.models) {
    SCOPED_TRACE(m.id);
    EXPECT_LE(m.max_train, 4096);
    EXPECT_EQ(m.max_test, 500);
    EXPECT_LE(m.recipe.epochs, 6);
  }
}

}  // namespace
}  // namespace modeldna::zoo
