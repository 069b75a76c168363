#include "pairing.h"

#include "block_alignment.h"
#include "modeldna/io/ecosystem_names.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "constants.h"
#include "structure.h"

namespace modeldna::compare::detail {
namespace {

// A vector (one input per unit) standardised as a whole: zero mean and
// norm sqrt(n), so that x_i * y_j / n are the similarities of its entries.
// Rows of a matrix are standardised by unit_rows, the one place that does it.
void standardise_vector(std::vector<double>& v) {
  const auto n = static_cast<double>(v.size());
  double mean = 0, ss = 0;
  for (double x : v) mean += x;
  mean /= n;
  for (double& x : v) x -= mean, ss += x * x;
  const double norm = std::sqrt(ss);
  for (double& x : v) x = norm > 0 ? x / norm * std::sqrt(n) : 0;
}

// Whether some other candidate reads `units` values as its inputs: a dense
// layer or kernel whose second canonical dim (input features or channels)
// is that width. Embedding tables are left out: their second dim is the
// vocabulary, which an untied output head's rows index too.
bool feeds_another(const std::vector<Candidate>& all, const Candidate& c, int64_t width) {
  for (const auto& other : all)
    if (&other != &c && other.shape.dims.size() >= 2 && other.info->role != io::Role::Embedding &&
        other.shape.dims[1] == width)
      return true;
  return false;
}

// Whether some other candidate produces `width` values: its unit count.
bool produced_by_another(const std::vector<Candidate>& all, const Candidate& c, int64_t width) {
  for (const auto& other : all)
    if (&other != &c && other.shape.units == width) return true;
  return false;
}

// An output head's rows are the model's outputs (classes, tokens): two
// models trained on the same labels share which outputs look alike, so
// relabelling rows is no symmetry of independent training and the row test
// is anti-conservative (issue 28: 4.4% of same-label LeNet heads below 0.01).
// Its columns are the previous layer's hidden units, which independent
// training does leave exchangeable: the head is tested over them. A head is
// a dense matrix whose outputs feed no other candidate and whose inputs are
// another candidate's units (a lone matrix over pixels has no hidden axis).
void test_heads_over_their_inputs(std::vector<Candidate>& all) {
  std::vector<bool> head(all.size(), false);
  for (std::size_t i = 0; i < all.size(); ++i) {
    const auto& c = all[i];
    // A tensor of a module inside a stack of blocks (a grouped-query
    // attention's K and V also feed no candidate of their width) is never
    // the model's head; a Sequential's own "layers.4.weight" may be.
    const auto slot = block_slot(c.match_name);
    const bool in_block_module = slot && slot->role.find('.') != std::string::npos;
    head[i] = c.shape.dims.size() == 2 && c.info->role != io::Role::Embedding && !in_block_module &&
              !feeds_another(all, c, c.shape.units) && produced_by_another(all, c, c.shape.inputs);
  }
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (!head[i]) continue;
    UnitShape& s = all[i].shape;
    std::swap(s.dims[0], s.dims[1]);
    std::swap(s.stored_axis[0], s.stored_axis[1]);
    s.units = s.dims[0];
    s.inputs = s.dims[1];
    s.output_head = true;
  }
}

}  // namespace

uint64_t sample_seed(uint64_t seed, const std::vector<int64_t>& dims) {
  uint64_t h = seed ^ 0x9E3779B97F4A7C15ull;
  for (int64_t d : dims) h = (h ^ static_cast<uint64_t>(d)) * 0x100000001B3ull;
  return h;
}

std::vector<Candidate> candidates(const io::TensorStore& store, const std::string& which, uint64_t seed,
                                  std::vector<ExcludedTensor>& excluded, bool heads_over_inputs) {
  std::vector<Candidate> out;
  for (const auto& t : store.tensors()) {
    const bool real = io::is_real(t.dtype) || t.quantization.has_value();
    if (!io::is_learned(t.role)) {
      if (real) excluded.push_back({which, t.name, Exclusion::NotLearned, std::string(io::role_name(t.role))});
      continue;
    }
    if (!real) {
      excluded.push_back({which, t.name, Exclusion::Integer, std::string(io::dtype_name(t.dtype))});
      continue;
    }
    UnitShape shape = unit_shape(t);
    if (auto rows = io::rotary_stored_rows(store, t)) shape.stored_unit = std::move(*rows);
    if (shape.units < 2 || t.numel() < 2) {
      excluded.push_back({which, t.name, Exclusion::TooSmall, std::to_string(t.numel()) + " values"});
      continue;
    }
    // A vector (a bias, a norm's scale) has one value per unit and nothing to
    // correlate its units over; when its units are the model's outputs
    // (classes, tokens) they are not exchangeable, and two models trained on
    // the same labels share them (class priors). So vectors are not tested.
    if (shape.inputs < 2) {
      excluded.push_back({which, t.name, Exclusion::Vector, "one value per unit"});
      continue;
    }
    const auto why = looks_constant(store, t, shape, sample_seed(seed, shape.dims));
    store.release(t);
    if (why) {
      excluded.push_back({which, t.name, Exclusion::Structured, *why});
      continue;
    }
    out.push_back({t.name, ecosystem_name(store, t.name), std::move(shape), out.size(), &t});
  }
  if (heads_over_inputs) test_heads_over_their_inputs(out);
  // Candidates in structural order (structure.h): pairing takes each shape's
  // tensors in this order, so store order is never evidence.
  const auto positions = structural_positions(store);
  std::stable_sort(out.begin(), out.end(), [&](const Candidate& a, const Candidate& b) {
    return positions.at(a.name) < positions.at(b.name);
  });
  for (std::size_t k = 0; k < out.size(); ++k) out[k].order = k;
  return out;
}

std::vector<Pair> pair_up(const std::vector<Candidate>& source, const std::vector<Candidate>& target) {
  std::vector<Pair> pairs;
  std::vector<bool> source_used(source.size(), false), target_used(target.size(), false);
  std::map<std::string, std::size_t> by_name;
  for (std::size_t i = 0; i < source.size(); ++i) by_name.emplace(source[i].match_name, i);
  for (std::size_t j = 0; j < target.size(); ++j) {
    const auto it = by_name.find(target[j].match_name);
    if (it == by_name.end() || source_used[it->second] || source[it->second].shape.dims != target[j].shape.dims) continue;
    pairs.push_back({&source[it->second], &target[j], target[j].realigned ? PairedBy::BlockAlignment : PairedBy::Name});
    source_used[it->second] = target_used[j] = true;
  }
  std::map<std::vector<int64_t>, std::vector<std::size_t>> free_sources;
  for (std::size_t i = 0; i < source.size(); ++i)
    if (!source_used[i]) free_sources[source[i].shape.dims].push_back(i);
  std::map<std::vector<int64_t>, std::size_t> next;
  for (std::size_t j = 0; j < target.size(); ++j) {
    if (target_used[j]) continue;
    auto it = free_sources.find(target[j].shape.dims);
    if (it == free_sources.end()) continue;
    std::size_t& k = next[target[j].shape.dims];
    if (k >= it->second.size()) continue;
    pairs.push_back({&source[it->second[k++]], &target[j], PairedBy::Structure});
  }
  std::sort(pairs.begin(), pairs.end(), [](const Pair& a, const Pair& b) { return a.target->order < b.target->order; });
  return pairs;
}

// Rows are standardised in double, then multiplied in float over eight
// independent lanes (vectorised) and summed in double.
std::vector<float> unit_rows(const std::vector<float>& values, std::size_t rows, std::size_t cols) {
  if (cols == 1) {
    std::vector<double> x(values.begin(), values.end());
    standardise_vector(x);
    return std::vector<float>(x.begin(), x.end());
  }
  // Each row to zero mean and unit length, in double, without a copy.
  std::vector<float> out(rows * cols);
  for (std::size_t i = 0; i < rows; ++i) {
    const float* row = values.data() + i * cols;
    double mean = 0, ss = 0;
    for (std::size_t j = 0; j < cols; ++j) mean += row[j];
    mean /= static_cast<double>(cols);
    for (std::size_t j = 0; j < cols; ++j) {
      const double d = row[j] - mean;
      ss += d * d;
    }
    const double norm = std::sqrt(ss);
    for (std::size_t j = 0; j < cols; ++j) out[i * cols + j] = norm > 0 ? static_cast<float>((row[j] - mean) / norm) : 0.0f;
  }
  return out;
}

std::vector<double> unit_row_products(const float* xf, const float* yf, std::size_t rows_a, std::size_t rows_b, std::size_t cols) {
  std::vector<double> c(rows_a * rows_b, 0.0);
  constexpr std::size_t kLanes = 8;
  for (std::size_t i = 0; i < rows_a; ++i) {
    const float* xi = xf + i * cols;
    for (std::size_t j = 0; j < rows_b; ++j) {
      const float* yj = yf + j * cols;
      float lanes[kLanes] = {};
      std::size_t k = 0;
      for (; k + kLanes <= cols; k += kLanes)
        for (std::size_t l = 0; l < kLanes; ++l) lanes[l] += xi[k + l] * yj[k + l];
      double dot = 0;
      for (float v : lanes) dot += v;
      for (; k < cols; ++k) dot += static_cast<double>(xi[k]) * yj[k];
      c[i * rows_b + j] = dot;
    }
  }
  return c;
}

std::vector<double> similarity(const std::vector<float>& a, const std::vector<float>& b, std::size_t rows_a,
                               std::size_t rows_b, std::size_t cols) {
  if (cols == 1) {
    std::vector<double> x(a.begin(), a.end()), y(b.begin(), b.end());
    standardise_vector(x);
    standardise_vector(y);
    std::vector<double> c(rows_a * rows_b, 0.0);
    for (std::size_t i = 0; i < rows_a; ++i)
      for (std::size_t j = 0; j < rows_b; ++j) c[i * rows_b + j] = x[i] * y[j] / static_cast<double>(rows_a);
    return c;
  }
  const auto x = unit_rows(a, rows_a, cols), y = unit_rows(b, rows_b, cols);
  return unit_row_products(x.data(), y.data(), rows_a, rows_b, cols);
}

Differences differences(const std::vector<float>& a, const std::vector<float>& b) {
  Differences r;
  double diff = 0, norm = 0;
  int64_t zeros_a = 0, zeros_b = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double d = static_cast<double>(b[i]) - a[i];
    diff += d * d;
    norm += static_cast<double>(a[i]) * a[i];
    r.max_abs = std::max(r.max_abs, std::abs(d));
    zeros_a += a[i] == 0.0f;
    zeros_b += b[i] == 0.0f;
  }
  r.relative = norm > 0 ? std::sqrt(diff / norm) : (diff > 0 ? 1.0 : 0.0);
  r.zero_fraction_a = a.empty() ? 0 : static_cast<double>(zeros_a) / static_cast<double>(a.size());
  r.zero_fraction_b = b.empty() ? 0 : static_cast<double>(zeros_b) / static_cast<double>(b.size());
  return r;
}

}  // namespace modeldna::compare::detail
