#include "modeldna/dna/similarity_loss.h"

#include <torch/nn/functional/activation.h>

#include "modeldna/core/error.h"

namespace modeldna::dna {
namespace {

// mean_u mean_{v != u} -log s(U_u . U_v / t) for U = [G; G].
torch::Tensor group_term(const torch::Tensor& group, double temperature) {
  const auto stacked = torch::cat({group, group}, 0);
  const int64_t rows = stacked.size(0);
  const auto log_sim = torch::nn::functional::logsigmoid(stacked.matmul(stacked.t()) / temperature);
  const auto off_diagonal = torch::ones({rows, rows}, log_sim.options()) - torch::eye(rows, log_sim.options());
  return -(log_sim * off_diagonal).sum(1).div(static_cast<double>(rows - 1)).mean();
}

}  // namespace

torch::Tensor dna_similarity_loss(const torch::Tensor& anchor, const torch::Tensor& positive,
                                  const torch::Tensor& negative, double temperature) {
  MDNA_CHECK(anchor.dim() == 2 && anchor.sizes() == positive.sizes() && anchor.sizes() == negative.sizes(),
             "DNA similarity loss needs three [N, d] tensors of one shape");
  MDNA_CHECK(anchor.size(0) >= 1 && temperature > 0, "DNA similarity loss needs N >= 1 and temperature > 0");
  namespace F = torch::nn::functional;
  const auto log_pos = F::logsigmoid((anchor * positive).sum(1) / temperature);
  const auto log_neg = F::logsigmoid((anchor * negative).sum(1) / temperature);
  // -log(s+ / (s+ + s-)); its mean over the duplicated 2N rows equals the mean over N.
  const auto ratio = -(log_pos - torch::logaddexp(log_pos, log_neg)).mean();
  return ratio + group_term(anchor, temperature) + group_term(positive, temperature) +
         group_term(negative, temperature);
}

}  // namespace modeldna::dna
