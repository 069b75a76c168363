#include "vocabulary_alignment.h"

#include <unordered_map>

namespace modeldna::compare::detail {

std::optional<VocabularyAlignment> align_vocabularies(const std::vector<std::string>& source,
                                                      const std::vector<std::string>& target) {
  if (source.empty() || target.empty() || source == target) return std::nullopt;
  std::unordered_map<std::string, int64_t> target_row;
  for (std::size_t j = 0; j < target.size(); ++j) target_row.emplace(target[j], static_cast<int64_t>(j));
  std::unordered_map<std::string, int64_t> source_row;
  VocabularyAlignment a;
  a.source_tokens = static_cast<int64_t>(source.size());
  a.target_tokens = static_cast<int64_t>(target.size());
  for (std::size_t i = 0; i < source.size(); ++i) {
    if (!source_row.emplace(source[i], static_cast<int64_t>(i)).second) continue;
    const auto it = target_row.find(source[i]);
    if (it == target_row.end()) {
      a.removed.push_back(source[i]);
      continue;
    }
    a.source_rows.push_back(static_cast<int64_t>(i));
    a.target_rows.push_back(it->second);
  }
  for (const auto& token : target)
    if (!source_row.count(token)) a.added.push_back(token);
  return a;
}

void restrict_to_shared_tokens(std::vector<Candidate>& candidates, int64_t tokens, const std::vector<int64_t>& rows) {
  const auto shared = static_cast<int64_t>(rows.size());
  for (auto& c : candidates) {
    auto& s = c.shape;
    const bool token_table = c.info->role == io::Role::Embedding || s.output_head;
    if (!token_table || s.dims.size() != 2 || c.info->shape.size() != 2 || c.info->shape[0] != tokens) continue;
    // Stored axis 0 holds the tokens: they are the view's inputs (an
    // embedding, a head seen over its inputs) or its units.
    if (s.stored_axis[1] == 0) {
      s.stored_input = rows;
      s.dims[1] = shared;
      s.inputs = shared;
    } else {
      s.stored_unit = rows;
      s.dims[0] = shared;
      s.units = shared;
    }
    c.vocabulary_aligned = true;
  }
}

}  // namespace modeldna::compare::detail
