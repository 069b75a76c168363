#include "modeldna/dna/similarity_loss.h"

#include "modeldna/core/error.h"
#include "test_support.h"

namespace modeldna::dna {
namespace {

// Expected values computed by hand with s(x) = 1 / (1 + e^-x):
// N = 1, d = 1, a = 1, p = 2, q = 0, t = 1:
//   L = -log(s(2) / (s(2) + s(0))) - log s(1) - log s(4) - log s(0) = 1.474147732
// dL/da = -(1-s(ap))p + [s(ap)(1-s(ap))p + s(aq)(1-s(aq))q] / (s(ap)+s(aq)) - 2a(1-s(a^2)) = -0.624211909
// dL/dp = -(1-s(ap))a + s(ap)(1-s(ap))a / (s(ap)+s(aq)) - 2p(1-s(p^2)) = -0.115109373
TEST(SimilarityLoss, MatchesHandComputedValueAndGradient) {
  auto a = torch::tensor({{1.0}}, torch::requires_grad());
  auto p = torch::tensor({{2.0}}, torch::requires_grad());
  auto q = torch::tensor({{0.0}}, torch::requires_grad());
  auto loss = dna_similarity_loss(a, p, q, 1.0);
  EXPECT_NEAR(loss.item<double>(), 1.474147732, 1e-6);
  loss.backward();
  EXPECT_NEAR(a.grad().item<double>(), -0.624211909, 1e-6);
  EXPECT_NEAR(p.grad().item<double>(), -0.115109373, 1e-6);
}

// The reference temperature: a = 3, p = 6, q = -3, t = 30 -> 1.878273295.
TEST(SimilarityLoss, ReferenceTemperature) {
  auto loss = dna_similarity_loss(torch::tensor({{3.0}}), torch::tensor({{6.0}}), torch::tensor({{-3.0}}));
  EXPECT_NEAR(loss.item<double>(), 1.878273295, 1e-6);
}

// Group terms: G = [1; 2] stacked to U = [1, 2, 1, 2]; each row averages -log s(U_u U_v)
// over its 3 off-diagonal entries (the duplicate self-pair included): mean = 0.139853943.
// With A = P = Q = G the ratio term is log 2, so L = log 2 + 3 * 0.139853943 = 1.112709010.
TEST(SimilarityLoss, GroupTermsUseTheDuplicatedMatrixWithoutDiagonal) {
  const auto g = torch::tensor({{1.0}, {2.0}});
  EXPECT_NEAR(dna_similarity_loss(g, g, g, 1.0).item<double>(), 1.112709010, 1e-6);
}

TEST(SimilarityLoss, PrefersPositivesCloserThanNegatives) {
  const auto a = torch::tensor({{1.0, 0.0}});
  const auto near = torch::tensor({{1.0, 0.0}});
  const auto far = torch::tensor({{-1.0, 0.0}});
  EXPECT_LT(dna_similarity_loss(a, near, far, 1.0).item<double>(),
            dna_similarity_loss(a, far, near, 1.0).item<double>());
}

TEST(SimilarityLoss, RefusesMismatchedShapes) {
  EXPECT_THROW_MSG(dna_similarity_loss(torch::zeros({2, 3}), torch::zeros({2, 3}), torch::zeros({2, 4})), UsageError,
                   "one shape");
}

}  // namespace
}  // namespace modeldna::dna
