// Private to compare: projections fused in one model and split in the
// other. Phi-3 stores Q, K and V as one `qkv_proj` (their rows stacked, Q
// first) and the MLP's gate and up as one `gate_up_proj`; Llama-family
// models store `q_proj`, `k_proj`, `v_proj`, `gate_proj`, `up_proj`. A
// "llamafied" Phi-3, or a Phi-3 built from a Llama, holds the same weights
// under the other layout. A fused tensor is viewed as its parts (row ranges,
// named as the split side names them) when the other model has the parts at
// the same place and their rows add up; only names and shapes are looked
// at, never values, so the tests keep their exact null.
#pragma once

#include <vector>

#include "pairing.h"

namespace modeldna::compare::detail {

/// Splits each fused candidate of `fused_side` whose parts are separate in
/// `split_side`; true when any was split (the candidates are then
/// renumbered in structural order).
bool split_fused_projections(std::vector<Candidate>& fused_side, const std::vector<Candidate>& split_side);

}  // namespace modeldna::compare::detail
