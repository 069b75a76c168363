// File: modeldna/dna/similarity_loss.h
// The DNA similarity loss of the reference code (net.py: Loss), exactly:
// rows r of A (source DNAs), P (homologous DNAs) and Q (non-homologous DNAs)
// share one probe input. With s the sigmoid and t the temperature (30):
//   L = mean_u [ -log( s(A_u.P_u/t) / (s(A_u.P_u/t) + s(A_u.Q_u/t)) )
//                - sum_{G in A,P,Q} mean_{v != u} log s(U^G_u . U^G_v / t) ]
// over u = 1..2N, where U^G = [G; G] (each group stacked on itself, so the
// diagonal removed from the 2N x 2N matrix leaves 2N-1 entries a row) and the
// first term, defined on N rows, is repeated for the second copy.
#pragma once

#include <torch/types.h>

namespace modeldna::dna {

inline constexpr double kReferenceTemperature = 30.0;

/// A, P, Q: shape = [N, d]. Returns a scalar; computed with log-sigmoids for
/// numerical stability.
torch::Tensor dna_similarity_loss(const torch::Tensor& anchor, const torch::Tensor& positive,
                                  const torch::Tensor& negative, double temperature = kReferenceTemperature);

}  // namespace modeldna::dna
