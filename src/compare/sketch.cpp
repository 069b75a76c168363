#include "modeldna/compare/sketch.h"

#include <algorithm>
#include <unordered_set>

#include "modeldna/compare/stats.h"
#include "modeldna/compare/unit_rows.h"
#include "modeldna/core/error.h"
#include "pairing.h"

namespace modeldna::compare {
namespace {

// Which candidates are sketched: the first half of the budget in order (a
// fine-tune keeps its backbone, and the first layers are the backbone), the
// rest evenly spaced over the remaining candidates (transplanted layers deep
// in a model still show).
std::vector<std::size_t> chosen(std::size_t n, std::size_t budget) {
  std::vector<std::size_t> out;
  if (n <= budget) {
    for (std::size_t i = 0; i < n; ++i) out.push_back(i);
    return out;
  }
  const std::size_t head = budget / 2, rest = budget - head;
  for (std::size_t i = 0; i < head; ++i) out.push_back(i);
  for (std::size_t k = 0; k < rest; ++k) out.push_back(head + k * (n - head) / rest);
  return out;
}

// The sample of a tensor the sketch stands for, as compare's pairing sees it.
detail::Candidate as_candidate(const TensorSketch& t) {
  detail::Candidate c;
  c.name = t.name;
  c.shape.dims = t.dims;
  c.shape.units = t.dims.empty() ? 1 : t.dims[0];
  c.shape.inputs = 1;
  for (std::size_t k = 1; k < t.dims.size(); ++k) c.shape.inputs *= t.dims[k];
  c.order = static_cast<std::size_t>(t.order);
  return c;
}

// Monte Carlo relabellings for sketched tensors with fewer than kSmallUnits
// units: enough for p down to 1/2001 per tensor, cheap enough for the
// all-pairs comparisons of `tree`.
constexpr int64_t kSketchPermutations = 2000;

}  // namespace

ModelSketch sketch_store(const io::TensorStore& store, const SketchOptions& o) {
  MDNA_CHECK(o.max_tensors >= 1 && o.units >= 2 && o.inputs >= 2, "sketch options need at least one tensor of 2 x 2 values");
  ModelSketch sketch;
  sketch.seed = o.seed;
  std::vector<ExcludedTensor> excluded;
  const auto candidates = detail::candidates(store, "model", o.seed, excluded);
  sketch.candidates = static_cast<int64_t>(candidates.size());
  for (std::size_t index : chosen(candidates.size(), static_cast<std::size_t>(o.max_tensors))) {
    const auto& c = candidates[index];
    const uint64_t seed = detail::sample_seed(o.seed, c.shape.dims);
    const auto units = sample_indices(c.shape.units, o.units, seed);
    const auto inputs = sample_indices(c.shape.inputs, o.inputs, seed + 1);
    TensorSketch t;
    t.name = c.name;
    t.dims = c.shape.dims;
    t.order = static_cast<int64_t>(c.order);
    t.units = static_cast<int64_t>(units.size());
    t.inputs = static_cast<int64_t>(inputs.size());
    t.values = read_units(store, *c.info, c.shape, units, inputs);
    const auto stats = io::tensor_stats(store, *c.info);
    t.stddev = stats.stddev;
    t.kurtosis = stats.kurtosis;
    t.zero_fraction = static_cast<double>(stats.zeros) / static_cast<double>(std::max<int64_t>(c.info->numel(), 1));
    t.distinct_sampled = static_cast<int64_t>(std::unordered_set<float>(t.values.begin(), t.values.end()).size());
    sketch.tensors.push_back(std::move(t));
  }
  return sketch;
}

SketchComparison compare_sketches(const ModelSketch& source, const ModelSketch& target) {
  MDNA_CHECK(source.seed == target.seed, "sketches drawn with different seeds cannot be compared");
  std::vector<detail::Candidate> s, t;
  for (const auto& x : source.tensors) s.push_back(as_candidate(x));
  for (const auto& x : target.tensors) t.push_back(as_candidate(x));
  SketchComparison out;
  double min_log10_p = 0, similarity_sum = 0;
  for (const auto& pair : detail::pair_up(s, t)) {
    const std::size_t i = static_cast<std::size_t>(pair.source - s.data());
    const std::size_t j = static_cast<std::size_t>(pair.target - t.data());
    const auto& a = source.tensors[i];
    const auto& b = target.tensors[j];
    // Same dims and options give the same sample; other options do not.
    if (a.units != b.units || a.inputs != b.inputs || a.units < 2) continue;
    const auto c = detail::similarity(a.values, b.values, static_cast<std::size_t>(a.units),
                                      static_cast<std::size_t>(b.units), static_cast<std::size_t>(a.inputs));
    const auto test = alignment_test(c, a.units, detail::sample_seed(source.seed, a.dims) + 2, kSketchPermutations);
    out.pairs.push_back({i, j, test.statistic, test.log10_p});
    min_log10_p = std::min(min_log10_p, test.log10_p);
    similarity_sum += test.statistic;
  }
  out.tested = static_cast<int64_t>(out.pairs.size());
  out.log10_p = bonferroni_log10(min_log10_p, out.tested);
  out.similarity = out.tested ? similarity_sum / static_cast<double>(out.tested) : 0;
  return out;
}

}  // namespace modeldna::compare
