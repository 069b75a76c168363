// ProvBench on the tiny zoo: every detector, every relation, figures on disk.
#include "modeldna/bench/provbench.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "modeldna/core/error.h"
#include "modeldna/data/task.h"
#include "modeldna/bench/mgmp_experiment.h"
#include "test_support.h"

namespace modeldna::bench {
namespace {

std::string tiny_zoo() {
  const char* dir = std::getenv("MODELDNA_TINY_ZOO");
  return dir ? dir : "";
}

const nlohmann::json& row(const nlohmann::json& rows, const std::string& detector, const std::string& relation,
                          const std::string& negatives) {
  for (const auto& r : rows)
    if (r["detector"] == detector && r["relation"] == relation && r["negatives"] == negatives) return r;
  throw std::runtime_error("no row " + detector + "/" + relation + "/" + negatives);
}

TEST(ProvBench, EveryDetectorEveryRelationWithMgmpAndFigures) {
  ASSERT_FALSE(tiny_zoo().empty()) << "run through ctest (the tiny_zoo fixture builds the zoo)";
  const std::string out = testing::fresh_temp_dir();
  // A quick MGMP detector, so the bench and the DNA figures include it.
  zoo::ZooModels zoo(tiny_zoo());
  dna::MgmpSettings settings;
  settings.train_probes = 500;
  settings.verify_probes = 200;
  settings.generator_epochs = 1;
  settings.classifier_epochs = 3;
  dna::MgmpDetector::train(mgmp_training_groups(zoo, zoo.manifest().train_sources),
                           data::load_task(data::kSourceTask).train, settings)
      .save(out + "/mgmp");

  BenchOptions options;
  options.zoo_dir = tiny_zoo();
  options.mgmp_detector_dir = out + "/mgmp";
  options.probes = 100;
  options.out_dir = out + "/bench";
  const auto result = run_bench(options);

  for (const std::string detector : {"mgmp", "agreement", "modeldiff", "sac", "akh", "weights", "weights-perm"})
    for (const std::string relation : {"finetune", "finetune-last-2", "replace-last-1", "replace-last-3",
                                       "random-replace-3", "pruned", "quantized", "distilled", "all derived"})
      EXPECT_NO_THROW(row(result.json["rows"], detector, relation, "scratch")) << detector << " " << relation;
  // White-box weights see a fine-tuned copy at once: it starts from the source's weights.
  EXPECT_EQ(row(result.json["rows"], "weights", "finetune", "scratch")["auc"].get<double>(), 1.0);
  // The MLP student is beyond the weights detector (another architecture):
  // an abstention, counted in the row, null in the pair, never a number.
  const auto& distilled = row(result.json["rows"], "weights", "distilled", "scratch");
  EXPECT_GE(distilled["positives_abstained"].get<int64_t>(), 1);
  EXPECT_GT(distilled["positives_count"].get<int64_t>(), distilled["positives_abstained"].get<int64_t>());
  int64_t nulls = 0;
  for (const auto& pair : result.json["pairs"])
    for (const auto& [name, score] : pair["scores"].items()) {
      nulls += score.is_null();
      EXPECT_TRUE(score.is_null() || std::isfinite(score.get<double>())) << name;
    }
  EXPECT_GT(nulls, 0);
  EXPECT_TRUE(std::filesystem::exists(out + "/bench/bench.md"));
  EXPECT_TRUE(std::filesystem::exists(out + "/bench/figures/roc-finetune.svg"));
  EXPECT_TRUE(std::filesystem::exists(out + "/bench/figures/dna-similarity-layer-replacement.svg"));
  EXPECT_TRUE(std::filesystem::exists(out + "/bench/figures/dna-space-lenet-s0.svg"));
}

TEST(ProvBench, MgmpWithoutADetectorIsAClearError) {
  BenchOptions options;
  options.zoo_dir = tiny_zoo();
  options.detectors = {"mgmp"};
  EXPECT_THROW_MSG(run_bench(options), UsageError, "needs a trained detector's folder");
}

}  // namespace
}  // namespace modeldna::bench
