// File: modeldna/compare/compare.h
// "Did TARGET come from SOURCE?" for any two tensor stores: a verdict with a
// calibrated p-value of the null "TARGET was trained independently of
// SOURCE", the relation, a map of which target layers came from where, and
// the evidence behind each number (docs/compare.md, JSON in
// docs/spec/compare-v2.md). Torch-free: the white-box evidence is computed
// here; behavioural (black-box) evidence from running the models is computed
// by evidence/behaviour.h and fused with fuse().
//
// Example:
//   auto a = io::open_store("parent.safetensors"), b = io::open_store("child.gguf");
//   auto result = compare::compare_weights(a, b, {});
//   if (result.verdict == compare::Verdict::Derived) ...
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modeldna/io/tensor_store.h"

namespace modeldna::compare {

inline constexpr int kCompareFormatVersion = 2;  // docs/spec/compare-v2.md

enum class Verdict : uint8_t { Derived, Independent, Inconclusive };
std::string_view verdict_name(Verdict v);  // "derived", "independent", "inconclusive"

/// The best guess of how the target came from the source.
enum class Relation : uint8_t {
  Identical,           // the same tensors, byte for byte
  Converted,           // the same values in another format, layout or float precision
  Quantized,           // the same weights up to quantization error
  Pruned,              // the same weights with many more exact zeros
  DepthPruned,         // blocks dropped, every remaining block from the source's (block_alignment.h)
  VocabularyExtended,  // tokens added, every other row and layer from the source's (vocabulary_alignment.h)
  Transformed,         // the source's weights behind a rotation or relabelling of hidden axes (docs/compare.md, section 6)
  FineTuned,           // every matched layer derived and changed
  PartialOrNewHead,    // derived backbone; some layers unchanged, or a new head
  LayersTransplanted,  // some layers from the source, the others independent
  Distilled,           // no weight trace; behaviour follows the source's
  None,                // independent
};
std::string_view relation_name(Relation r);  // "identical", "converted", ..., "none"

/// Which evidence the verdict rests on.
enum class DecidedBy : uint8_t {
  WhiteBox,          // the weights' calibrated p-value
  BlackBox,          // the behaviour's calibrated p-value (fused with the weights')
  WhiteAndBlackBox,  // each family alone is below the level the fused p-value needs
  Identity,          // the same file, byte for byte: no test needed
  None,              // no evidence decided (inconclusive)
};
std::string_view decided_by_name(DecidedBy d);  // "white-box", "black-box", "white-box and black-box", "identity", "none"

enum class LayerVerdict : uint8_t { FromSource, Modified, New };
std::string_view layer_verdict_name(LayerVerdict v);  // "from source", "modified", "new"

/// A derived layer whose sampled values moved by at most this fraction of
/// their norm counts as unchanged ("from source"): int8 and float16 copies
/// stay below it, fine-tunes move well past it (docs/compare.md). Lineage's
/// direction rule reads the same bound.
inline constexpr double kUnchangedRelativeDifference = 0.03;

/// A p-value as every output prints it: 4 significant digits down to 1e-4,
/// then "1e-12.3" (log10 p can be far below what a double holds).
std::string p_value_text(double log10_p);

/// Why a tensor was left out of the test.
enum class Exclusion : uint8_t {
  NotLearned,    // the store's role: a constant, statistic, index, quantization parameter, optimizer state
  Integer,       // integer or bool values
  Structured,    // values with a closed form or few distinct values (a basis, table, grid)
  TooSmall,      // fewer than two units
  Vector,        // one value per unit (biases, norm scales): nothing to correlate units over
};
std::string_view exclusion_name(Exclusion e);

struct CompareOptions {
  double alpha = 0.01;            // level of the verdict
  int64_t max_units = 128;        // units sampled per tensor (rows of the similarity matrix)
  int64_t max_inputs = 512;       // inputs sampled per unit
  uint64_t seed = 0;              // the sample; the same in both models
  bool match_permutations = true; // try to undo a relabelling of hidden units (docs/compare.md)
  int64_t max_permutation_units = 1024;  // beyond this many units, permutations are not searched
  /// Output heads tested over their inputs (docs/compare.md, section 2);
  /// false gives the row test on heads, as before issue 27, for measurement.
  bool heads_over_inputs = true;
};

/// How a target tensor found its source tensor (docs/compare.md, section 3).
enum class PairedBy : uint8_t {
  None,       // no source tensor of its canonical shape
  Name,       // the same name as both ecosystems spell it (name_map.h) and canonical shape
  Structure,  // the same place in the model's structure, within its canonical shape
  BlockAlignment,  // the same name in the source block its block was aligned with (block_alignment.h)
};
std::string_view paired_by_name(PairedBy p);  // "none", "name", "structure", "block alignment"

/// What was undone before a pair was tested (the layer map says which).
enum class Undone : uint8_t {
  Layout,       // axes reordered to [out, in, ...] (OHWI, HWIO, [in, out], ...)
  RotaryRows,   // llama.cpp's rotary row order of Q and K (docs/formats/gguf.md)
  Vocabulary,   // token rows aligned by token string (tokens added, removed or reordered)
  Relabelling,  // the target's units relabelled to match the source's
  InputsRotated,  // seen through: any rotation or relabelling of the inputs (a unit-geometry test)
  UnitsRotated,   // seen through: any rotation or relabelling of the units (an input-geometry test)
  FusedProjection,  // a part of a fused projection (Phi-3's qkv_proj, gate_up_proj), split out
};
std::string_view undone_name(Undone u);  // "layout", "rotary rows", "vocabulary", "relabelling", "inputs rotated", "units rotated", "fused projection split"
std::string undone_list(const std::vector<Undone>& undone);  // "layout, rotary rows"; "" for none

/// The statistic a layer's reported p-value comes from (docs/compare.md).
enum class LayerTest : uint8_t {
  MatchedUnits,   // unit i of the source against unit i of the target, over sampled inputs
  UnitGeometry,   // the cosines between units over all inputs (geometry_test.h)
  InputGeometry,  // the cosines between inputs over all units
};
std::string_view layer_test_name(LayerTest t);  // "matched units", "unit geometry", "input geometry"

/// One tested pair of tensors (one target layer).
struct LayerResult {
  std::string target;                // tensor name in the target
  std::optional<std::string> source; // matched source tensor, if any
  std::vector<int64_t> target_shape, source_shape;
  std::string target_layout, source_layout;
  PairedBy matched_by = PairedBy::None;
  LayerTest test = LayerTest::MatchedUnits;
  bool geometry_tested = false;      // geometry tests apply to both axes (run when matched units do not decide)
  int64_t units = 0, inputs = 0;     // the sample the statistic saw (geometry: tested units, anchors)
  double similarity = 0;             // mean correlation of matched units
  double null_similarity = 0;        // mean correlation of all unit pairs (what chance gives)
  double z = 0;
  double log10_p = 0;                // per-layer, one-sided (not corrected)
  bool exact_p = false;
  bool permuted = false;             // units matched after undoing a relabelling
  std::vector<Undone> undone;        // transforms undone before (or found by) the test
  bool over_inputs = false;          // an output head, tested over its inputs (docs/compare.md)
  double max_abs_difference = -1;    // over the sample, when shapes allow (-1: not computed)
  double relative_difference = -1;   // ||t - s|| / ||s|| over the sample
  double encoding_error = -1;        // what rounding to the target's encoding explains, same measure (-1: float storage)
  double zero_fraction_source = 0, zero_fraction_target = 0;
  LayerVerdict verdict = LayerVerdict::New;
};

struct ExcludedTensor {
  std::string model;  // "source" or "target"
  std::string name;
  Exclusion reason;
  std::string detail;
};

/// Behavioural evidence (evidence/behaviour.h), folded in by fuse().
struct BlackBoxEvidence {
  bool available = false;
  std::string reason;     // why not, when unavailable
  nlohmann::json signals; // each detector's numbers
  /// A p-value when a reference panel calibrated it; nullopt otherwise.
  std::optional<double> log10_p;
  double score = 0;       // the fused behavioural similarity (higher = closer to the source)
  std::string calibration;  // how log10_p was obtained
};

struct CompareResult {
  Verdict verdict = Verdict::Inconclusive;
  Relation relation = Relation::None;
  double log10_p = 0;              // of the null "independent of the source", after combining
  double log10_p_white_box = 0;
  DecidedBy decided_by = DecidedBy::None;
  std::string combination;         // the rule used
  int64_t tested_layers = 0;
  int64_t geometry_tests = 0;      // geometry tests that apply, counted in the correction with the tested layers
  std::vector<LayerResult> layers; // every target tensor considered, in target order
  std::vector<ExcludedTensor> excluded;
  bool identical_files = false;
  BlackBoxEvidence black_box;
  nlohmann::json notes = nlohmann::json::array();  // what did not apply and why
  nlohmann::json timings = nlohmann::json::object();
  std::string source_path, target_path, source_format, target_format;

  double p_value() const;
};

/// The white-box comparison of two stores.
CompareResult compare_weights(const io::TensorStore& source, const io::TensorStore& target,
                              const CompareOptions& options);

/// Folds behavioural evidence into a white-box result. With a calibrated
/// black-box p-value the printed p-value becomes Bonferroni over the two
/// families (or the black-box one alone when no layer was tested), and the
/// verdict is the decision on it at options.alpha: derived exactly when the
/// printed p-value is below alpha (an identical file stays derived). Without
/// one, the white-box verdict stands and a note says why.
void fuse(CompareResult& result, BlackBoxEvidence black_box, const CompareOptions& options);

/// The result as docs/spec/compare-v2.md describes it.
nlohmann::json to_json(const CompareResult& result);

}  // namespace modeldna::compare
