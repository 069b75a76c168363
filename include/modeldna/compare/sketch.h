// File: modeldna/compare/sketch.h
// A model's weights in a few kilobytes, for the registry: for up to
// `max_tensors` candidate tensors (compare's candidates: learned,
// real-valued, not constant), the values at a sample of units x inputs drawn
// from the canonical dims alone. Two models' same-dims tensors are sampled at
// the same positions, so compare's matched-unit test (stats.h) runs on two
// sketches exactly as on two files, with its null kept. Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "modeldna/compare/compare.h"
#include "modeldna/io/tensor_store.h"

namespace modeldna::compare {

struct TensorSketch {
  std::string name;           // as pairing compares it: Hugging Face's spelling of llama.cpp's names, ":0" dropped

  std::vector<int64_t> dims;  // canonical dims, units first (unit_rows.h)
  int64_t order = 0;          // position among the model's candidates
  int64_t units = 0;          // rows sampled
  int64_t inputs = 0;         // values sampled per row
  // Whole-tensor statistics (every value read once): what tells a parent from
  // its child (docs/registry.md, "Direction").
  double stddev = 0, kurtosis = 0, zero_fraction = 0;
  int64_t distinct_sampled = 0;  // distinct values among `values`
  bool lossy = false;            // stored quantized or as 8-bit floats
  /// The most significant bits (implicit bit included) any sampled value
  /// carries: 24 for values trained in float32, at most 11 once copied to
  /// float16, 8 to bfloat16, whatever dtype holds them now (an upcast keeps
  /// the fewer bits). A re-encoding loses bits, never gains them.
  int mantissa_bits = 24;

  /// The sampled values, units x inputs, row-major.
  const std::vector<float>& values() const { return values_; }
  /// `values` with each row scaled to zero mean and unit length: what the
  /// unit similarities are products of. Derived, never stored; kept in step
  /// with the values by the two calls that change them, so no caller has to
  /// remember to refresh it. Empty for a vector (one input per unit, which
  /// is standardised as a whole) and after drop_unit_rows().
  const std::vector<float>& unit_rows() const { return unit_rows_; }
  /// Sets units x inputs values (units and inputs set first).
  void set_values(std::vector<float> values);
  /// Changes the values in place; unit_rows follows.
  template <typename Edit>
  void edit_values(Edit&& edit) {
    edit(values_);
    derive_unit_rows();
  }
  /// Frees unit_rows, for pools of many sketches kept for their values:
  /// comparisons then standardise the rows themselves.
  void drop_unit_rows() { std::vector<float>().swap(unit_rows_); }

 private:
  void derive_unit_rows();
  std::vector<float> values_, unit_rows_;
};

/// `mantissa_bits` of a sample: the largest over its values (0 for none or all zeros).
int mantissa_bits(const std::vector<float>& values);

struct ModelSketch {
  uint64_t seed = 0;
  int64_t candidates = 0;  // tensors that could be tested, of which `tensors` were sketched
  /// The first 16 hex digits of the SHA-256 of the candidates' sorted
  /// canonical dims: models of one architecture share it, whatever the format.
  std::string shape_signature;
  std::vector<TensorSketch> tensors;
};

struct SketchOptions {
  int64_t max_tensors = 32;  // the first half of the candidates, then evenly spaced over the rest
  int64_t units = 32;
  int64_t inputs = 32;
  uint64_t seed = 0;         // must be the same for every model compared
};

/// Sketches a store (reads each sketched tensor once, in bounded memory).
ModelSketch sketch_store(const io::TensorStore& store, const SketchOptions& options);

/// One pair of sketched tensors put to compare's matched-unit test.
struct SketchPair {
  std::size_t source = 0, target = 0;  // indices into the sketches' tensors
  double similarity = 0;               // mean correlation of matched units
  double log10_p = 0;                  // per pair, uncorrected
  double relative_difference = 0;     // ||t - s|| / ||s|| over the sample
  double max_abs_difference = 0;
  /// The sample equal float for float, with enough distinct values that no
  /// independent training run produces it: a copy. A finding, not a p-value:
  /// `log10_p` stays what the test gave (a small layer's relabellings cannot
  /// go below 1/2001).
  bool copied = false;
  LayerVerdict verdict = LayerVerdict::New;
};

struct SketchComparison {
  int64_t tested = 0;     // pairs tested
  double log10_p = 0;     // Bonferroni over the tested pairs (0 when none)
  /// Sum of the matched-unit correlations of the pairs, over the larger
  /// sketch's tensor count: 1 for a copy, lower as layers change or go
  /// missing, about 0 for independent models. What `find` and `tree` rank by.
  double closeness = 0;
  bool copied = false;    // some tested pair is a copy (SketchPair::copied)
  bool derived = false;   // copied, or log10_p below log10(alpha)
  Relation relation = Relation::None;  // compare's rules on the sketched layers
  std::vector<SketchPair> pairs;
};

/// compare's white-box test on two sketches (same seed, else UsageError):
/// tensors paired as compare pairs them (name, then canonical-dims order).
SketchComparison compare_sketches(const ModelSketch& source, const ModelSketch& target, double alpha = 0.01);

}  // namespace modeldna::compare
