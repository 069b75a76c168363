#include "masked_lm.h"

#include <ATen/CPUGeneratorImpl.h>

#include "modeldna/core/error.h"
#include "modeldna/data/tokenizer.h"

namespace modeldna::nn {

using data::Tokenizer;

torch::Tensor masked_lm_logits(Network& net, const torch::Tensor& x, const torch::Tensor& chosen) {
  auto* predictor = dynamic_cast<TokenPredictor*>(&net);
  MDNA_CHECK(predictor && net.config().head == Head::MaskedLm,
             "'" + net.config().arch + "' with head '" + std::string(head_name(net.config().head)) +
                 "' is not a masked language model");
  return predictor->token_logits(x, chosen);
}

at::Generator mask_generator(uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

MaskedTokens mask_tokens(const torch::Tensor& tokens, int64_t vocab_size, at::Generator& generator,
                         bool always_mask) {
  MDNA_CHECK(tokens.dim() == 2 && tokens.scalar_type() == torch::kInt64, "masking needs int64 [n, seq_len] token ids");
  MDNA_CHECK(vocab_size > Tokenizer::kFirstPiece, "vocabulary too small to draw random pieces from");
  const auto candidates = tokens.ne(Tokenizer::kPad).logical_and(tokens.ne(Tokenizer::kCls));
  const auto draw = torch::rand(tokens.sizes(), generator);
  const auto how = torch::rand(tokens.sizes(), generator);
  const auto pieces = torch::randint(Tokenizer::kFirstPiece, vocab_size, tokens.sizes(), generator, torch::kInt64);
  const auto chosen = candidates.logical_and(draw.lt(kMaskRate));
  auto inputs = tokens.clone();
  if (always_mask) {
    inputs.masked_fill_(chosen, Tokenizer::kMask);
  } else {
    inputs.masked_fill_(chosen.logical_and(how.lt(0.8)), Tokenizer::kMask);
    const auto random = chosen.logical_and(how.ge(0.8)).logical_and(how.lt(0.9));
    inputs = torch::where(random, pieces, inputs);
  }
  return {inputs, chosen};
}

}  // namespace modeldna::nn
