// Private to compare: the rows of token tables (embeddings, output heads)
// aligned by token string, when the two models' vocabularies differ (tokens
// added, removed or reordered). Only strings are looked at, never values, so
// the tests on the aligned tensors keep their exact null.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pairing.h"

namespace modeldna::compare::detail {

struct VocabularyAlignment {
  std::vector<int64_t> source_rows, target_rows;  // the shared tokens' rows, in the source's order
  int64_t source_tokens = 0, target_tokens = 0;
  std::vector<std::string> added;                 // tokens only the target has, in its order
  std::vector<std::string> removed;               // tokens only the source has
};

/// Aligns the two vocabularies (io/vocabulary.h); nullopt when either model
/// carries none or both are the same list. The first occurrence of a
/// repeated token is the one aligned.
std::optional<VocabularyAlignment> align_vocabularies(const std::vector<std::string>& source,
                                                      const std::vector<std::string>& target);

/// Views every token table among `candidates` (an embedding or an output
/// head whose stored rows are the model's `tokens` tokens) over the shared
/// tokens only, in the source's order (`rows`: the stored row of each).
void restrict_to_shared_tokens(std::vector<Candidate>& candidates, int64_t tokens, const std::vector<int64_t>& rows);

}  // namespace modeldna::compare::detail
