// Masked-language-model pieces shared by train.cpp and the architectures that
// can carry a "masked-lm" head; private to the nn module (and its tests).
#pragma once

#include <ATen/core/Generator.h>
#include <torch/types.h>

#include "modeldna/nn/network.h"

namespace modeldna::nn {

/// Implemented by networks that can predict the token at every position.
class TokenPredictor {
 public:
  virtual ~TokenPredictor() = default;
  /// Vocabulary logits [m, vocab_size] at the m positions where `chosen`
  /// (bool, the shape of `x`) is set, in row-major order.
  virtual torch::Tensor token_logits(const torch::Tensor& x, const torch::Tensor& chosen) = 0;
};

/// `net`'s token logits at the chosen positions; UsageError for a network
/// without a "masked-lm" head.
torch::Tensor masked_lm_logits(Network& net, const torch::Tensor& x, const torch::Tensor& chosen);

/// BERT's share of maskable positions chosen for prediction.
inline constexpr double kMaskRate = 0.15;

struct MaskedTokens {
  torch::Tensor inputs;  // int64, the tokens with the chosen positions altered
  torch::Tensor chosen;  // bool, the positions to predict
};

/// Chooses each position that is neither padding nor [CLS] with probability
/// kMaskRate, then replaces 80% of the
/// chosen by [MASK] and 10% by a random piece in [kFirstPiece, vocab_size),
/// leaving 10% as they are; with `always_mask`, every chosen one becomes
/// [MASK] (evaluation). The draws do not depend on `always_mask`.
MaskedTokens mask_tokens(const torch::Tensor& tokens, int64_t vocab_size, at::Generator& generator,
                         bool always_mask = false);

/// A CPU generator for masks, seeded by `seed`.
at::Generator mask_generator(uint64_t seed);

}  // namespace modeldna::nn
