// Private to compare: the blocks of two transformer stacks aligned as
// sequences. A depth-pruned model (a block dropped, later ones renumbered),
// a depth up-scaled one (blocks duplicated) or one with blocks taken from
// another model has block N where the source has another number; pairing by
// name would test each against the wrong source block. The alignment looks
// only at statistics that relabelling a tensor's units leaves unchanged (the
// Gram matrix of its inputs), so the matched-unit test on the pairs it makes
// keeps its exact null (docs/compare.md, section 3).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pairing.h"

namespace modeldna::compare::detail {

/// A tensor's place in a stack of repeated blocks: "layers.5.mlp.up_proj.weight"
/// is block 5 in role "mlp.up_proj.weight" under the stack "layers".
struct BlockSlot {
  std::string stack;
  int64_t block = 0;
  std::string role;
};
std::optional<BlockSlot> block_slot(const std::string& name);

/// Two blocks whose tensors' input Gram matrices correlate at least this much
/// are the same block. Chosen before measuring: a copied block's Gram matrices
/// correlate near 1 whatever was fine-tuned, independent ones near 0 (the
/// residual streams of independent models share no basis), with a standard
/// error of about 1 / sqrt(pairs of inputs) = 0.02 for 64 sampled inputs.
inline constexpr double kSameBlockSimilarity = 0.5;

struct BlockAlignment {
  std::map<int64_t, int64_t> source_of_target;  // target block -> source block, for the aligned blocks only
  std::vector<int64_t> unmatched_source;        // source blocks no target block came from (dropped)
  std::vector<int64_t> unmatched_target;        // target blocks from no source block (inserted or new)
  bool renumbered = false;                      // some aligned block changed its number
  std::string stack;
};

/// Aligns the blocks of the two stacks (the stack with most blocks in
/// both), by dynamic programming over block similarity with free gaps;
/// nullopt when either model has fewer than two blocks.
std::optional<BlockAlignment> align_blocks(const io::TensorStore& source, const std::vector<Candidate>& source_candidates,
                                           const io::TensorStore& target, const std::vector<Candidate>& target_candidates,
                                           uint64_t seed);

/// Renames the target candidates of aligned, renumbered blocks to their
/// source block's names (and marks them realigned), so that pairing by name
/// pairs them with the block they came from.
void apply_block_alignment(const BlockAlignment& alignment, std::vector<Candidate>& target_candidates);

}  // namespace modeldna::compare::detail
