// MGMP end to end on the tiny zoos (images and text): train on the training
// tasks, then the fine-tuned targets of the held-out tasks must outscore the
// scratch ones, and the derived targets must rank above the scratch ones
// better than chance.
#include <cstdio>
#include <cstdlib>

#include "modeldna/bench/mgmp_experiment.h"
#include "modeldna/verdict/metrics.h"
#include "test_support.h"

namespace modeldna::bench {

using dna::MgmpDetector;
using dna::MgmpSettings;
namespace {

// (the environment variable naming the zoo, set by ctest's fixtures; the
// classifier's pair features: the paper's "concat" or our "relation")
class MgmpEndToEnd : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(MgmpEndToEnd, SeparatesFineTunedFromScratchOnHeldOutTasks) {
  const char* zoo_dir = std::getenv(std::get<0>(GetParam()).c_str());
  ASSERT_NE(zoo_dir, nullptr) << "run through ctest (the tiny zoo fixtures build the zoos)";
  zoo::ZooModels zoo(zoo_dir);
  MgmpSettings settings;
  // The reference code's schedule, the default. (With --schedule joint and
  // these short settings, fashion-rot90 was not separated: 0.549 vs 0.563; see
  // BENCHMARKS.md for how weakly MGMP transfers across tasks.)
  ASSERT_EQ(settings.schedule, dna::Schedule::TwoStage);
  settings.train_probes = 1000;
  settings.verify_probes = 300;
  settings.generator_epochs = 3;
  settings.classifier_epochs = 8;
  settings.pair_features = *dna::parse_pair_features(std::get<1>(GetParam()));
  const auto detector = MgmpDetector::train(mgmp_training_groups(zoo, zoo.manifest().train_sources),
                                            zoo.load_task(zoo.source_task()).train, settings);
  EXPECT_EQ(detector.probe_format().modality, zoo.manifest().modality);
  const auto& source = zoo.manifest().train_sources.front();
  const auto pairs = zoo.matched_pairs(source, zoo.manifest().test_tasks);
  ASSERT_FALSE(pairs.empty());
  for (const auto& [finetuned, scratch] : pairs) {
    const auto derived = detector.verify(*zoo.get(source), *zoo.get(finetuned->id));
    const auto independent = detector.verify(*zoo.get(source), *zoo.get(scratch->id));
    EXPECT_GT(derived.probability, independent.probability) << finetuned->id << " vs " << scratch->id;
  }
  const auto report = evaluate_mgmp(detector, zoo);
  std::printf("%s\n", report.markdown.c_str());
  EXPECT_FALSE(report.json["model_level"].empty());
  // A real threshold: on the sources it trained on, the detector ranks the
  // held-out tasks' derived targets above the scratch ones better than
  // random scores would at the 5% level (exact Mann-Whitney; 20 derived and
  // 2 scratch targets: AUC 0.9 has p = 9/231). The level is the usual one; the
  // AUCs (0.900-0.925 here) were seen before it was written down. Held-out
  // sources are printed, not asserted: the text zoo's 0.850 has p = 16/231.
  bool checked = false;
  for (const auto& row : report.json["model_level"]) {
    if (row["relation"] != "all derived" || row["against"] != "scratch") continue;
    const double p = verdict::auc_p_value(row["positives"], row["negatives"], row["auc"]);
    std::printf("%s: all derived vs scratch AUC %.3f, p = %.4f\n", row["group"].get<std::string>().c_str(),
                row["auc"].get<double>(), p);
    if (row["group"] != "seen sources") continue;
    checked = true;
    EXPECT_LE(p, 0.05) << "AUC " << row["auc"] << " over " << row["positives"] << " derived and " << row["negatives"]
                       << " scratch targets";
  }
  EXPECT_TRUE(checked);
  // The reference's protocol, per source: each source's AUC is the one its
  // entries in the pairs list give for fine-tunes against scratch models (the
  // tiny zoos train scratch models of one architecture, so all are matched).
  ASSERT_EQ(report.json["per_source"].size(), 2u);
  for (const auto& row : report.json["per_source"]) {
    verdict::LabelledScores from_pairs;
    for (const auto& p : report.json["pairs"]) {
      if (p["source"] != row["source"]) continue;
      if (p["relation"] == "finetune" && p["derived"] == true) from_pairs.positive.push_back(p["score"]);
      if (p["relation"] == "scratch") from_pairs.negative.push_back(p["score"]);
    }
    EXPECT_EQ(row["pairs"], zoo.manifest().test_tasks.size());
    EXPECT_NEAR(row["auc"].get<double>(), verdict::roc_auc(from_pairs), 1e-9) << row.dump();
    EXPECT_GE(row["matched"].get<double>(), 0.0);
    EXPECT_LE(row["matched"].get<double>(), 1.0);
  }
  EXPECT_NE(report.markdown.find("| seen sources | " + source + " | "), std::string::npos);
  // Its fit on its own training pairs, judged on probes it never trained on:
  // one entry per training pair, the report's mean per source.
  const auto& fit = detector.record()["training_pairs_on_verify_probes"];
  ASSERT_EQ(fit.size(), zoo.manifest().train_sources.size() * zoo.manifest().train_tasks.size());
  double overall = 0;
  for (const auto& row : fit)
    if (row["source"] == source) overall += row["overall"].get<double>() / static_cast<double>(zoo.manifest().train_tasks.size());
  ASSERT_FALSE(report.json["training_fit"].empty());
  EXPECT_EQ(report.json["training_fit"][0]["source"], source);
  EXPECT_NEAR(report.json["training_fit"][0]["overall"].get<double>(), overall, 1e-9);
  EXPECT_NE(report.markdown.find("| seen sources | finetune | scratch |"), std::string::npos);
}

// Relation features on text only: on the tiny image zoo, with these short
// settings, they did not separate fashion-rot90 (0.431 vs 0.535), as the paper
// zoo's mixed image numbers would suggest (BENCHMARKS.md).
INSTANTIATE_TEST_SUITE_P(TinyZoos, MgmpEndToEnd,
                         ::testing::Values(std::make_tuple("MODELDNA_TINY_ZOO", "concat"),
                                           std::make_tuple("MODELDNA_TINY_TEXT_ZOO", "concat"),
                                           std::make_tuple("MODELDNA_TINY_TEXT_ZOO", "relation")));

}  // namespace
}  // namespace modeldna::bench
