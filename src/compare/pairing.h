// Private to compare: the steps the white-box comparison and the sketches
// share (docs/compare.md): which tensors are candidates, how a source tensor
// is paired with a target tensor without trusting names, and the unit
// similarity matrix the matched-unit test runs on.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "modeldna/compare/compare.h"
#include "modeldna/compare/unit_rows.h"

namespace modeldna::compare::detail {

/// A tensor of one model that can be tested.
struct Candidate {
  std::string name;
  std::string match_name;                 // the name pairing compares (io/ecosystem_names.h, block_alignment.h)
  UnitShape shape;
  std::size_t order = 0;                  // rank among the model's candidates in structural order
  const io::TensorInfo* info = nullptr;   // null for a sketch (no store behind it)
  bool realigned = false;                 // match_name renumbered by the block alignment
  bool vocabulary_aligned = false;        // token rows restricted to the shared tokens (vocabulary_alignment.h)
  bool fused_split = false;               // a row range of a fused projection (fused_projections.h)
};

/// The learned, real-valued, non-constant tensors of `store` with at least
/// two units of two inputs, in structural order (structure.h); the others are appended to
/// `excluded` with the reason, under `which` ("source", "target"). Output
/// heads are viewed over their inputs unless `heads_over_inputs` is false.
std::vector<Candidate> candidates(const io::TensorStore& store, const std::string& which, uint64_t seed,
                                  std::vector<ExcludedTensor>& excluded, bool heads_over_inputs = true);

/// The seed of a tensor's sample: the same canonical dims give the same
/// units and inputs in both models.
uint64_t sample_seed(uint64_t seed, const std::vector<int64_t>& dims);

struct Pair {
  const Candidate* source;
  const Candidate* target;
  PairedBy matched_by = PairedBy::None;
};

/// Pairs without trusting names alone: the same name and canonical dims
/// first, then the rest of each canonical-dims group in candidate order,
/// which is structural order (structure.h). Both rules look at no values, so
/// the tests on the pairs keep their null. Sorted by the target's order.
std::vector<Pair> pair_up(const std::vector<Candidate>& source, const std::vector<Candidate>& target);

/// C[i][j] = similarity of source unit i and target unit j (row-major
/// rows_a x rows_b): the Pearson correlation of their sampled rows of `cols`
/// values; for vectors (cols == 1), the product of standardised values.
std::vector<double> similarity(const std::vector<float>& a, const std::vector<float>& b, std::size_t rows_a,
                               std::size_t rows_b, std::size_t cols);

/// Rows of `cols` values scaled to zero mean and unit length (zero rows stay zero).
std::vector<float> unit_rows(const std::vector<float>& values, std::size_t rows, std::size_t cols);

/// C[i][j] = the dot product of unit row i of `a` and unit row j of `b`.
std::vector<double> unit_row_products(const float* a, const float* b, std::size_t rows_a, std::size_t rows_b, std::size_t cols);

/// How far b's values are from a's (the same sampled positions), and how
/// many are exact zeros in each.
struct Differences {
  double max_abs = 0;
  double relative = 0;  // ||b - a|| / ||a||
  double zero_fraction_a = 0, zero_fraction_b = 0;
};
Differences differences(const std::vector<float>& a, const std::vector<float>& b);

}  // namespace modeldna::compare::detail
