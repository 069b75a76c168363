// Token-id inputs, shared by the text architectures.
#pragma once

#include <torch/types.h>

#include "modeldna/core/error.h"
#include "modeldna/data/tokenizer.h"
#include "modeldna/nn/network.h"

namespace modeldna::nn::arch {

/// Checks a batch of token ids against the config (int64 [batch, L] with
/// 1 <= L <= seq_len, ids in [0, vocab_size)) and returns where its real
/// tokens are: bool [batch, L], false on padding. Position 0 ([CLS] by
/// convention) always counts, so no row is left with nothing to attend to.
inline torch::Tensor real_positions(const ArchConfig& c, const torch::Tensor& x) {
  MDNA_CHECK(x.dim() == 2 && x.scalar_type() == torch::kInt64,
             c.arch + " reads token ids, int64 [batch, seq_len]; got " + std::to_string(x.dim()) + "-d " +
                 std::string(c10::toString(x.scalar_type())));
  MDNA_CHECK(x.size(1) >= 1 && x.size(1) <= c.input.seq_len,
             c.arch + " reads at most " + std::to_string(c.input.seq_len) + " tokens, got " + std::to_string(x.size(1)));
  if (x.numel() > 0)
    MDNA_CHECK(x.min().item<int64_t>() >= 0 && x.max().item<int64_t>() < c.input.vocab_size,
               "token id out of range for " + c.arch + " (vocabulary " + std::to_string(c.input.vocab_size) + ")");
  auto real = x.ne(data::Tokenizer::kPad);
  real.select(1, 0).fill_(true);
  return real;
}

}  // namespace modeldna::nn::arch
