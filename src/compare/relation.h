// Private to compare: the relation guessed from a layer map, the same rules
// for two files (white_box.cpp) and for two sketches (sketch.cpp).
#pragma once

#include <vector>

#include "modeldna/compare/compare.h"

namespace modeldna::compare::detail {

/// What float16 or bfloat16 rounding leaves: a conversion, not a change.
inline constexpr double kRoundingRelativeDifference = 0.002;

/// The relative difference below which a layer counts as unchanged:
/// kEncodingErrorMultiple times what a quantized target's encoding explains,
/// or kUnchangedRelativeDifference for float storage (`encoding_error` < 0).
double unchanged_bound(double encoding_error);

/// A tested layer's verdict: significant at the corrected level (or matched
/// after relabelling), then unchanged or modified by its relative difference:
/// unchanged within kEncodingErrorMultiple times what a quantized target's
/// encoding explains (`encoding_error`, encoding_error.h), or, for float
/// storage (`encoding_error` negative), within kUnchangedRelativeDifference.
LayerVerdict layer_verdict(bool significant, bool permuted, double relative_difference, double encoding_error = -1);

/// What the relation rules look at in one target layer.
struct LayerFacts {
  bool matched = false;  // a source tensor was paired with it
  LayerVerdict verdict = LayerVerdict::New;
  double max_abs_difference = -1, relative_difference = -1;
  double zero_fraction_source = 0, zero_fraction_target = 0;
  bool lossy_source = false, lossy_target = false;  // quantized or 8-bit float storage
  bool same_storage = true;                          // same dtype and layout in both
  bool transformed = false;      // derived through a geometry test: a rotation or relabelling seen through
  bool geometry_tested = false;  // geometry tests applied to both axes: "new" means new under a rotation of either
};

/// The relation, given the overall verdict (`derived`), whether the files
/// are the same bytes, and whether both are in the same format.
Relation relation_from_layers(const std::vector<LayerFacts>& layers, bool derived, bool identical_files, bool same_format);

/// guess_relation for two files: the layer map of `result` and the stores' dtypes.
Relation guess_relation(const CompareResult& result, const io::TensorStore& source, const io::TensorStore& target);

/// Quantized or 8-bit float storage.
bool lossy(const io::TensorInfo& tensor);

}  // namespace modeldna::compare::detail
