#include "modeldna/dna/similarity_loss.h"

#include <cmath>
#include <vector>

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

// The reference's Loss (net.py), transcribed as loops over plain doubles:
// rows u = 0..2N-1 stand for U = [G; G], row u is input u mod N, and
//   L = mean_u [ -log(s+_u / (s+_u + s-_u)) - sum_G mean_{v != u} log s(G_u . G_v / t) ].
double reference_loss(const torch::Tensor& a, const torch::Tensor& p, const torch::Tensor& q, double t) {
  const auto rows = [](const torch::Tensor& x) {
    const auto c = x.to(torch::kFloat64).contiguous();
    std::vector<std::vector<double>> out(static_cast<std::size_t>(c.size(0)));
    for (int64_t i = 0; i < c.size(0); ++i)
      for (int64_t k = 0; k < c.size(1); ++k) out[static_cast<std::size_t>(i)].push_back(c[i][k].item<double>());
    return out;
  };
  const auto A = rows(a), P = rows(p), Q = rows(q);
  const std::size_t n = A.size();
  const auto dot = [](const std::vector<double>& x, const std::vector<double>& y) {
    double s = 0;
    for (std::size_t k = 0; k < x.size(); ++k) s += x[k] * y[k];
    return s;
  };
  const auto sigmoid = [](double x) { return 1 / (1 + std::exp(-x)); };
  double total = 0;
  for (std::size_t u = 0; u < 2 * n; ++u) {
    const std::size_t r = u % n;
    const double pos = sigmoid(dot(A[r], P[r]) / t), neg = sigmoid(dot(A[r], Q[r]) / t);
    double term = -std::log(pos / (pos + neg));
    for (const auto* g : {&A, &P, &Q}) {
      double s = 0;
      for (std::size_t v = 0; v < 2 * n; ++v)
        if (v != u) s += std::log(sigmoid(dot((*g)[r], (*g)[v % n]) / t));
      term -= s / static_cast<double>(2 * n - 1);
    }
    total += term;
  }
  return total / static_cast<double>(2 * n);
}

// Random rows (N = 5, d = 6, unequal groups) at two temperatures: a wrong
// reduction axis, a misaligned row or a dropped term changes the value.
TEST(SimilarityLoss, MatchesALoopTranscriptionOfTheReference) {
  torch::manual_seed(3);
  const auto a = torch::randn({5, 6}, torch::kFloat64) * 3;
  const auto p = torch::randn({5, 6}, torch::kFloat64) * 2 + 1;
  const auto q = torch::randn({5, 6}, torch::kFloat64) * 4 - 1;
  for (double t : {2.0, 30.0}) {
    SCOPED_TRACE("temperature " + std::to_string(t));
    EXPECT_NEAR(dna_similarity_loss(a, p, q, t).item<double>(), reference_loss(a, p, q, t), 1e-9);
    // Misaligned rows give another value: the comparison above can fail.
    EXPECT_GT(std::abs(dna_similarity_loss(a, p.roll(1, 0), q, t).item<double>() - reference_loss(a, p, q, t)), 1e-4);
  }
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
