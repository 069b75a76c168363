// Private to compare: the geometry tests, which see through a rotation or
// relabelling of one axis of a tensor by testing the other (docs/compare.md,
// section 6).
//
// A tensor's canonical view is units x inputs. A function-preserving
// transform of a language model acts on one axis at a time: a rotation of the
// residual stream multiplies every reader's inputs (Q, K, V, gate, up) and
// every writer's units (O, down) by one orthogonal matrix; a relabelling of
// the MLP's hidden units permutes gate's and up's units and down's inputs.
// The cosines between a tensor's units, over all of its inputs, are unchanged
// by any orthogonal map of the inputs (and by positive scaling of the units);
// the cosines between its inputs, over all units, by any orthogonal map of the
// units. Each unit of a tested set is described by its cosines with a fixed
// set of anchor units; the matched-unit test then relabels the tested units
// only. The null stays exact: the anchors, the tested set and the features'
// coordinates are fixed before any value is read, and relabelling the tested
// units among themselves is a symmetry of independent training whenever that
// axis is exchangeable (hidden units: the residual stream, the MLP's units),
// which the role table in geometry_test.cpp decides. No alignment is
// estimated, so there is no selection to correct for.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "modeldna/compare/compare.h"
#include "modeldna/compare/stats.h"
#include "modeldna/compare/unit_rows.h"
#include "modeldna/io/tensor_store.h"

namespace modeldna::compare::detail {

/// Which axis a geometry test relabels (and the other axis it sees through).
enum class GeometryAxis : uint8_t {
  Units,   // cosines between units over all inputs: sees through any rotation of the inputs
  Inputs,  // cosines between inputs over all units: sees through any rotation of the units
};

/// Beyond this many values along the axis a feature is computed over (all
/// of them are read: a rotation mixes every one), a geometry test is not
/// run. Chosen so that one test reads at most 128 x 65,536 values (32 MiB of
/// float32): a 128k-token table is left out, every projection of a 70B
/// Llama (hidden 8,192, MLP 28,672) is in.
inline constexpr int64_t kMaxGeometrySpan = 65536;

/// The geometry tests that apply to a tensor, by its role in a Llama-family
/// block (Hugging Face spelling from io/ecosystem_names.h: `layers.N.mlp.gate_proj.weight`
/// ...): an axis qualifies when independent training leaves it exchangeable
/// (the residual stream, the MLP's units). Q and K units (rotary frequencies
/// fix their order), V and O's per-head dimensions (heads group them) and
/// token rows do not; nor does any tensor of a family the table does not
/// know. Empty when none applies.
std::vector<GeometryAxis> geometry_axes(const std::string& ecosystem_name, const UnitShape& shape);

/// Whether the axis a geometry test along `axis` computes its cosines over
/// indexes MLP units, whose SwiGLU up/down pair may carry a positive scale
/// per unit: then each of its indices is scaled to unit length first.
bool scalable_span(const std::string& ecosystem_name, GeometryAxis axis);

/// The RMSNorm whose gain multiplies a tensor's inputs (post_attention_layernorm
/// before gate and up, input_layernorm before Q, K, V), as an ecosystem name;
/// nullopt when none does. Folded into the inputs of both models before the
/// cosines between units: an attacker who rotates the residual stream must
/// fold the gains into the weights first.
std::optional<std::string> input_gain_of(const std::string& ecosystem_name);

struct GeometryEvidence {
  AlignmentTest test;
  int64_t tested = 0, anchors = 0;  // tested units (relabelled) and anchor units (fixed)
  int64_t span = 0;                 // values each cosine is computed over
  double relative_difference = 0;   // ||F_t - F_s|| / ||F_s|| of the cosine features
  double max_abs_difference = 0;
};

/// One tensor of each model, the same canonical dims.
struct GeometryOperand {
  const io::TensorStore* store = nullptr;
  const io::TensorInfo* info = nullptr;
  UnitShape shape;
  std::vector<float> input_gain;  // multiplies column j when non-empty (folded norm gain)
  bool normalise_span = false;    // scalable_span: each index of the other axis scaled to unit length
};

/// The geometry test of a pair along `axis`: `max_units` indices of that
/// axis sampled by `seed`, every second one an anchor, the rest tested.
/// nullopt when the axis is too short (fewer than 4 tested) or the other axis
/// longer than kMaxGeometrySpan.
std::optional<GeometryEvidence> geometry_test(const GeometryOperand& source, const GeometryOperand& target,
                                              GeometryAxis axis, int64_t max_units, uint64_t seed);

/// The cosine features of `rows` vectors of `span` values (row-major): row t
/// of the result holds the cosines of tested vector t with every anchor
/// (tested vectors at odd positions, anchors at even ones). Exposed for tests.
std::vector<float> cosine_features(const std::vector<float>& rows, std::size_t count, std::size_t span);

}  // namespace modeldna::compare::detail
