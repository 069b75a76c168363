// The agreement behind the BatchNorm drift measurement, by hand.
#include "modeldna/bench/batchnorm_drift.h"

#include "modeldna/core/error.h"
#include "test_support.h"

namespace modeldna::bench {
namespace {

// Logits whose top-1 classes are `classes` (3 outputs).
torch::Tensor logits_with_top(const std::vector<int64_t>& classes) {
  auto out = torch::zeros({static_cast<int64_t>(classes.size()), 3});
  for (std::size_t i = 0; i < classes.size(); ++i) out[static_cast<int64_t>(i)][classes[i]] = 1.0;
  return out;
}

TEST(RenamedAgreement, RenamesTheTargetsClassesOneToOne) {
  const auto source = logits_with_top({0, 0, 1, 1, 2, 2});
  // Renaming 2->0, 0->1, 1->2 makes five of six agree.
  EXPECT_DOUBLE_EQ(renamed_agreement(logits_with_top({2, 2, 0, 0, 1, 0}), source), 5.0 / 6);
  // One target class cannot stand for two source classes: 3 of 6 (a
  // many-to-one map would claim 4).
  EXPECT_DOUBLE_EQ(renamed_agreement(logits_with_top({0, 0, 0, 0, 1, 2}), source), 3.0 / 6);
  EXPECT_DOUBLE_EQ(renamed_agreement(source, source), 1.0);
  EXPECT_THROW_MSG(renamed_agreement(torch::zeros({6, 4}), source), UsageError, "one shape");
}

}  // namespace
}  // namespace modeldna::bench
