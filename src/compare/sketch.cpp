#include "modeldna/compare/sketch.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <unordered_set>

#include "modeldna/compare/stats.h"
#include "modeldna/compare/unit_rows.h"
#include "modeldna/core/error.h"
#include "modeldna/core/sha256.h"
#include "pairing.h"
#include "relation.h"

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
  c.match_name = t.name;  // sketched under the name pairing compares
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

// The same float at every sampled position of a learned tensor with this
// many distinct values is a copy: no independent training run produces it,
// whatever the permutation test's resolution (1/2001 for a small layer).
constexpr int64_t kCopyDistinctValues = 16;

}  // namespace

int mantissa_bits(const std::vector<float>& values) {
  int bits = 0;
  for (float v : values) {
    if (v == 0 || !std::isfinite(v)) continue;
    uint32_t word = 0;
    std::memcpy(&word, &v, sizeof word);
    const uint32_t mantissa = word & 0x7fffffu;  // the 23 stored bits; the implicit one is always significant
    const int trailing_zeros = mantissa == 0 ? 23 : __builtin_ctz(mantissa);
    bits = std::max(bits, 24 - trailing_zeros);
  }
  return bits;
}

ModelSketch sketch_store(const io::TensorStore& store, const SketchOptions& o) {
  MDNA_CHECK(o.max_tensors >= 1 && o.units >= 2 && o.inputs >= 2, "sketch options need at least one tensor of 2 x 2 values");
  ModelSketch sketch;
  sketch.seed = o.seed;
  std::vector<ExcludedTensor> excluded;
  const auto candidates = detail::candidates(store, "model", o.seed, excluded);
  sketch.candidates = static_cast<int64_t>(candidates.size());
  std::vector<std::string> dims;
  for (const auto& c : candidates) {
    std::string d;
    for (int64_t x : c.shape.dims) d += std::to_string(x) + "x";
    dims.push_back(d);
  }
  std::sort(dims.begin(), dims.end());
  std::string all;
  for (const auto& d : dims) all += d + ";";
  sketch.shape_signature = sha256_hex(all.data(), all.size()).substr(0, 16);
  for (std::size_t index : chosen(candidates.size(), static_cast<std::size_t>(o.max_tensors))) {
    const auto& c = candidates[index];
    const uint64_t seed = detail::sample_seed(o.seed, c.shape.dims);
    const auto units = sample_indices(c.shape.units, o.units, seed);
    const auto inputs = sample_indices(c.shape.inputs, o.inputs, seed + 1);
    TensorSketch t;
    t.name = c.match_name;
    t.dims = c.shape.dims;
    t.order = static_cast<int64_t>(c.order);
    t.units = static_cast<int64_t>(units.size());
    t.inputs = static_cast<int64_t>(inputs.size());
    t.set_values(read_units(store, *c.info, c.shape, units, inputs));
    const auto stats = io::tensor_stats(store, *c.info);
    t.stddev = stats.stddev;
    t.kurtosis = stats.kurtosis;
    t.zero_fraction = static_cast<double>(stats.zeros) / static_cast<double>(std::max<int64_t>(c.info->numel(), 1));
    t.distinct_sampled = static_cast<int64_t>(std::unordered_set<float>(t.values().begin(), t.values().end()).size());
    t.lossy = detail::lossy(*c.info);
    t.mantissa_bits = mantissa_bits(t.values());
    sketch.tensors.push_back(std::move(t));
  }
  return sketch;
}

void TensorSketch::set_values(std::vector<float> values) {
  MDNA_ASSERT(static_cast<int64_t>(values.size()) == units * inputs, "a sketch's values are units x inputs");
  values_ = std::move(values);
  derive_unit_rows();
}

void TensorSketch::derive_unit_rows() {
  // Vectors (one input) are standardised as a whole in similarity(); only rows are cached.
  if (inputs > 1) unit_rows_ = detail::unit_rows(values_, static_cast<std::size_t>(units), static_cast<std::size_t>(inputs));
  else unit_rows_.clear();
}

SketchComparison compare_sketches(const ModelSketch& source, const ModelSketch& target, double alpha) {
  MDNA_CHECK(source.seed == target.seed, "sketches drawn with different seeds cannot be compared");
  MDNA_CHECK(alpha > 0 && alpha < 1, "alpha must lie strictly between 0 and 1");
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
    const auto c = !a.unit_rows().empty() && !b.unit_rows().empty()
                       ? detail::unit_row_products(a.unit_rows().data(), b.unit_rows().data(), static_cast<std::size_t>(a.units),
                                                   static_cast<std::size_t>(b.units), static_cast<std::size_t>(a.inputs))
                       : detail::similarity(a.values(), b.values(), static_cast<std::size_t>(a.units),
                                            static_cast<std::size_t>(b.units), static_cast<std::size_t>(a.inputs));
    const auto test = alignment_test(c, a.units, detail::sample_seed(source.seed, a.dims) + 2, kSketchPermutations);
    const auto d = detail::differences(a.values(), b.values());
    const bool copied = d.max_abs == 0 && a.distinct_sampled >= kCopyDistinctValues && b.distinct_sampled >= kCopyDistinctValues;
    SketchPair p;
    p.source = i;
    p.target = j;
    p.similarity = test.statistic;
    p.log10_p = test.log10_p;
    p.copied = copied;
    out.copied = out.copied || copied;
    p.relative_difference = d.relative;
    p.max_abs_difference = d.max_abs;
    out.pairs.push_back(p);
    min_log10_p = std::min(min_log10_p, p.log10_p);
    similarity_sum += std::max(0.0, test.statistic);
  }
  out.tested = static_cast<int64_t>(out.pairs.size());
  out.log10_p = bonferroni_log10(min_log10_p, out.tested);
  out.derived = out.copied || (out.tested > 0 && out.log10_p < std::log10(alpha));
  const std::size_t larger = std::max(source.tensors.size(), target.tensors.size());
  out.closeness = larger ? similarity_sum / static_cast<double>(larger) : 0;

  // The layer map over the target's sketched tensors, for compare's relation rules.
  const double layer_level = std::log10(alpha / static_cast<double>(std::max<int64_t>(out.tested, 1)));
  std::vector<detail::LayerFacts> facts(target.tensors.size());
  for (auto& p : out.pairs) {
    p.verdict = detail::layer_verdict(p.copied || p.log10_p < layer_level, false, p.relative_difference);
    const auto& a = source.tensors[p.source];
    const auto& b = target.tensors[p.target];
    auto& f = facts[p.target];
    f.matched = true;
    f.verdict = p.verdict;
    f.max_abs_difference = p.max_abs_difference;
    f.relative_difference = p.relative_difference;
    f.zero_fraction_source = a.zero_fraction;
    f.zero_fraction_target = b.zero_fraction;
    f.lossy_source = a.lossy;
    f.lossy_target = b.lossy;
    f.same_storage = a.lossy == b.lossy;
  }
  // A sketch knows no file bytes and no format: an exact copy is "converted" at most.
  out.relation = detail::relation_from_layers(facts, out.derived, false, false);
  return out;
}

}  // namespace modeldna::compare
