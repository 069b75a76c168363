// Every detector on one small zoo: a trained source, copies derived from it
// and independently trained models.
#include <map>

#include "evidence_fixtures.h"
#include "modeldna/core/error.h"
#include "test_support.h"

namespace modeldna::evidence {
namespace {

using namespace testing;

struct Zoo {
  ProbeSet probes;
  ModelOutputs source, copy, perturbed, finetuned, independent, transfer5, independent5;
};

// Built once (about 0.3 s) and shared by every test below.
const Zoo& zoo() {
  static const Zoo shared = [] {
    Zoo z;
    const auto data = band_task(600, 11), other = band_task(600, 12), five = band_task(600, 13, 5);
    z.probes = make_probe_set(data, 200, 1);
    auto source = train(fresh(tiny_mlp(), 1), data, 5, 1);
    z.source = observe("source", source, z.probes);
    z.copy = observe("copy", nn::clone_network(*source), z.probes);
    z.perturbed = observe("perturbed", testing::perturbed(*source, 0.1, 2), z.probes);
    z.finetuned = observe("finetuned", train(nn::clone_network(*source), other, 1, 3, 0.01), z.probes);
    z.independent = observe("independent", train(fresh(tiny_mlp(), 2), other, 5, 2), z.probes);
    // Transfer learning: the source's body under a new 5-class head.
    auto transfer = fresh(tiny_mlp(5), 4);
    copy_matching(*source, *transfer);
    z.transfer5 = observe("transfer5", train(transfer, five, 3, 4, 0.05, {"fc3"}), z.probes);
    z.independent5 = observe("independent5", train(fresh(tiny_mlp(5), 5), five, 5, 5), z.probes);
    return z;
  }();
  return shared;
}

Evidence run(const std::string& detector, const ModelOutputs& target) {
  return make_detector(detector)->compare(zoo().probes, zoo().source, target);
}

class EachDetector : public ::testing::TestWithParam<std::string> {};

TEST_P(EachDetector, RanksDerivedModelsAboveAnIndependentOne) {
  const auto self = run(GetParam(), zoo().copy), perturbed = run(GetParam(), zoo().perturbed),
             finetuned = run(GetParam(), zoo().finetuned), independent = run(GetParam(), zoo().independent);
  for (const auto* e : {&self, &perturbed, &finetuned, &independent}) ASSERT_TRUE(e->applicable) << e->details;
  EXPECT_GE(self.score, perturbed.score);
  EXPECT_GE(self.score, finetuned.score);
  EXPECT_GT(perturbed.score, independent.score);
  EXPECT_GT(finetuned.score, independent.score);
}

TEST_P(EachDetector, IdenticalModelsScoreTheMaximum) {
  // sac is a negated distance: 0 at best; compare is -log10 p, capped at 1000
  // (an identical copy's p underflows every finite bound); the others are
  // similarities in [.., 1].
  const double best = GetParam() == "sac" ? 0.0 : GetParam() == "compare" ? 1000.0 : 1.0;
  EXPECT_NEAR(run(GetParam(), zoo().source).score, best, 1e-9);
  EXPECT_NEAR(run(GetParam(), zoo().copy).score, best, 1e-9);
}

TEST_P(EachDetector, IndependentModelScoresLow) {
  // Trained on the same task from another seed: it shares the task's signal,
  // so "low" is relative to what a derived copy gets (>= 0.8 or > -0.05).
  const std::map<std::string, double> ceiling = {{"agreement", 0.75}, {"modeldiff", 0.6}, {"sac", -0.1},
                                                 {"akh", 0.4},        {"weights", 0.5},   {"weights-perm", 0.5},
                                                 {"compare", 2.0}};  // -log10 p: independent at the 0.01 level
  const auto derived = run(GetParam(), zoo().perturbed);
  const auto independent = run(GetParam(), zoo().independent);
  EXPECT_LT(independent.score, ceiling.at(GetParam())) << independent.details;
  EXPECT_GT(derived.score, GetParam() == "sac" ? -0.05 : GetParam() == "compare" ? 2.0 : 0.8) << derived.details;
}

TEST_P(EachDetector, NameMatchesTheRegistry) {
  const auto detector = make_detector(GetParam());
  EXPECT_EQ(detector->name(), GetParam());
  EXPECT_FALSE(detector->reference().empty());
}

INSTANTIATE_TEST_SUITE_P(All, EachDetector, ::testing::ValuesIn(available_detector_names({})),
                         [](const auto& p) {
                           std::string name = p.param;
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

TEST(Registry, ListsTheBuiltInDetectors) {
  EXPECT_EQ(detector_names(),
            (std::vector<std::string>{"mgmp", "agreement", "modeldiff", "sac", "akh", "weights", "weights-perm", "compare"}));
  // Without a trained MGMP detector, every other one is available, and mgmp says what it needs.
  EXPECT_EQ(available_detector_names({}),
            (std::vector<std::string>{"agreement", "modeldiff", "sac", "akh", "weights", "weights-perm", "compare"}));
  EXPECT_EQ(available_detector_names({"some/dir"}).size(), 8u);
  EXPECT_THROW_MSG(make_detector("mgmp"), UsageError, "detector 'mgmp' needs a trained detector's folder");
  EXPECT_THROW_MSG(make_detector("ipguard"), UsageError, "unknown detector 'ipguard' (known: mgmp, agreement,");
}

TEST(Detectors, RejectOutputsFromAnotherProbeSet) {
  const auto small = make_probe_set(band_task(20, 1), 10, 1);
  EXPECT_THROW_MSG(make_detector("modeldiff")->compare(small, zoo().source, zoo().copy), UsageError,
                   "model 'source' was not observed on this probe set");
}

TEST(Detectors, OutputGeometryWorksAcrossOutputSizes) {
  // ModelDiff and SAC compare each model only with itself, so a 5-class
  // model can be tested against a 10-class source.
  for (const std::string name : {"modeldiff", "sac"}) {
    const auto transfer = run(name, zoo().transfer5), independent = run(name, zoo().independent5);
    ASSERT_TRUE(transfer.applicable && independent.applicable) << name;
    EXPECT_GT(transfer.score, independent.score) << name;
  }
  for (const std::string name : {"agreement", "akh"}) {
    const auto e = run(name, zoo().transfer5);
    EXPECT_FALSE(e.applicable) << name;
    EXPECT_EQ(e.details["reason"], "output sizes differ (10 and 5 classes)");
  }
}

TEST(Agreement, ReportsDivergence) {
  const auto self = run("agreement", zoo().copy), other = run("agreement", zoo().perturbed);
  EXPECT_NEAR(self.details["kl_source_target"].get<double>(), 0.0, 1e-12);
  EXPECT_GT(other.details["kl_source_target"].get<double>(), 0.0);
  EXPECT_EQ(other.score, other.details["top1_agreement"].get<double>());
  EXPECT_EQ(other.details["probes"], 200);
}

TEST(ModelDiff, ReportsCentredSimilarityToo) {
  const auto derived = run("modeldiff", zoo().perturbed), independent = run("modeldiff", zoo().independent);
  // The centred score drops the plain cosine's floor (DDVs are all positive).
  EXPECT_GT(derived.details["ddv_correlation"].get<double>(), 0.8);
  EXPECT_LT(independent.details["ddv_correlation"].get<double>(), 0.5);
  EXPECT_LT(independent.details["ddv_correlation"].get<double>(), independent.score);
}

TEST(Sac, ScoreIsTheNegatedDistance) {
  const auto e = run("sac", zoo().independent);
  EXPECT_DOUBLE_EQ(e.score, -e.details["distance"].get<double>());
  EXPECT_GT(e.details["distance_logits"].get<double>(), 0.0);
}

TEST(Akh, CountsTheSourceMistakes) {
  const auto e = run("akh", zoo().perturbed);
  const int64_t mistakes = e.details["source_mistakes"], same = e.details["same_mistakes"];
  EXPECT_GT(mistakes, 20);  // the source is only ~55% right
  EXPECT_DOUBLE_EQ(e.score, static_cast<double>(same) / static_cast<double>(mistakes));
}

TEST(Akh, NotApplicableWhenTheSourceMakesNoMistakes) {
  auto probes = zoo().probes;
  probes.labels = zoo().source.clean(probes.size()).argmax(1);  // the source is now always right
  const auto e = make_detector("akh")->compare(probes, zoo().source, zoo().perturbed);
  EXPECT_FALSE(e.applicable);
  EXPECT_EQ(e.details["reason"], "the source classifies all 200 probes correctly");
}

}  // namespace
}  // namespace modeldna::evidence
