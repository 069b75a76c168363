// File: modeldna/evidence/behaviour_options.h
// How compare's behavioural evidence runs the models (behaviour.h). Apart
// from behaviour.h so that code without libtorch can carry the options.
#pragma once

#include <cstdint>
#include <string>

namespace modeldna::evidence {

struct BehaviourOptions {
  int64_t probes = 300;  // x3: clean, noisy, CutMix
  uint64_t seed = 0;
  /// Text models: the tokenizer their ids come from (a zoo's tokenizer.model),
  /// for probes of real text; without it the probes are random token ids.
  std::string tokenizer;
};

}  // namespace modeldna::evidence
