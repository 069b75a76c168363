#include "modeldna/compare/unit_rows.h"

#include <algorithm>
#include <numeric>
#include <random>
#include <set>

#include "modeldna/core/error.h"

namespace modeldna::compare {
namespace {

// Streaming reads go through a buffer of this many elements.
constexpr int64_t kChunk = 1 << 20;

}  // namespace

UnitShape unit_shape(const io::TensorInfo& t) {
  UnitShape s;
  const std::size_t rank = t.shape.size();
  std::vector<int> axes = io::canonical_axes(t.layout, rank);
  if (axes.empty()) {
    axes.resize(rank);
    std::iota(axes.begin(), axes.end(), 0);
  }
  // An embedding's rows are tokens: its hidden dimension is the unit axis.
  if (t.role == io::Role::Embedding && rank == 2) std::swap(axes[0], axes[1]);
  s.stored_axis = axes;
  for (int a : axes) s.dims.push_back(t.shape[static_cast<std::size_t>(a)]);
  s.units = rank == 0 ? 1 : s.dims[0];
  s.inputs = 1;
  for (std::size_t k = 1; k < s.dims.size(); ++k) s.inputs *= s.dims[k];
  return s;
}

std::vector<int64_t> sample_indices(int64_t n, int64_t count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  if (count < n / 4) {
    // Few out of many: Floyd's algorithm, O(count), never O(n).
    std::set<int64_t> chosen;
    for (int64_t j = n - count; j < n; ++j) {
      std::uniform_int_distribution<int64_t> pick(0, j);
      const int64_t t = pick(rng);
      if (!chosen.insert(t).second) chosen.insert(j);
    }
    return std::vector<int64_t>(chosen.begin(), chosen.end());
  }
  std::vector<int64_t> all(static_cast<std::size_t>(std::max<int64_t>(n, 0)));
  std::iota(all.begin(), all.end(), 0);
  if (count >= n) return all;
  // Partial Fisher-Yates: the first `count` entries are a uniform sample.
  for (int64_t i = 0; i < count; ++i) {
    std::uniform_int_distribution<int64_t> pick(i, n - 1);
    std::swap(all[static_cast<std::size_t>(i)], all[static_cast<std::size_t>(pick(rng))]);
  }
  all.resize(static_cast<std::size_t>(count));
  std::sort(all.begin(), all.end());
  return all;
}

std::vector<float> read_units(const io::TensorStore& store, const io::TensorInfo& t, const UnitShape& s,
                              const std::vector<int64_t>& units, const std::vector<int64_t>& inputs) {
  const std::size_t rank = t.shape.size();
  std::vector<float> out(units.size() * inputs.size());
  if (rank == 0) {
    if (!out.empty()) store.read_f32(t, 0, 1, out.data());
    return out;
  }
  // Row-major strides of the stored shape, and each canonical input index's
  // offset from its unit's origin.
  std::vector<int64_t> stride(rank, 1);
  for (std::size_t d = rank - 1; d-- > 0;) stride[d] = stride[d + 1] * t.shape[d + 1];
  std::vector<int64_t> input_offset(inputs.size());
  for (std::size_t j = 0; j < inputs.size(); ++j) {
    if (!s.stored_input.empty()) {  // rank 2: one stored axis of inputs, mapped
      input_offset[j] = s.stored_input[static_cast<std::size_t>(inputs[j])] * stride[static_cast<std::size_t>(s.stored_axis[1])];
      continue;
    }
    int64_t rest = inputs[j], offset = 0;
    for (std::size_t k = s.dims.size(); k-- > 1;) {
      const int64_t index = rest % s.dims[k];
      rest /= s.dims[k];
      offset += index * stride[static_cast<std::size_t>(s.stored_axis[k])];
    }
    input_offset[j] = offset;
  }
  const int64_t unit_stride = stride[static_cast<std::size_t>(s.stored_axis[0])];
  auto stored = [&](int64_t unit) { return s.stored_unit.empty() ? unit : s.stored_unit[static_cast<std::size_t>(unit)]; };
  if (s.stored_axis[0] == 0) {
    // Each unit's values are one contiguous span: read the sampled units only.
    const int64_t span = s.inputs;
    std::vector<float> row(static_cast<std::size_t>(span));
    for (std::size_t i = 0; i < units.size(); ++i) {
      store.read_f32(t, stored(units[i]) * unit_stride, span, row.data());
      for (std::size_t j = 0; j < inputs.size(); ++j) out[i * inputs.size() + j] = row[static_cast<std::size_t>(input_offset[j])];
    }
    return out;
  }
  // Strided units: every wanted element's stored index, gathered in one pass.
  std::vector<std::pair<int64_t, std::size_t>> wanted;
  wanted.reserve(out.size());
  for (std::size_t i = 0; i < units.size(); ++i)
    for (std::size_t j = 0; j < inputs.size(); ++j)
      wanted.emplace_back(stored(units[i]) * unit_stride + input_offset[j], i * inputs.size() + j);
  std::sort(wanted.begin(), wanted.end());
  std::vector<float> chunk;
  int64_t chunk_begin = -1, chunk_end = -1;
  const int64_t n = t.numel();
  for (const auto& [index, slot] : wanted) {
    if (index >= chunk_end) {
      const int64_t block = std::max<int64_t>(io::traits(t.dtype).block_elems, 1);
      chunk_begin = index / block * block;
      chunk_end = std::min(n, chunk_begin + kChunk);
      chunk.resize(static_cast<std::size_t>(chunk_end - chunk_begin));
      store.read_f32(t, chunk_begin, chunk_end - chunk_begin, chunk.data());
    }
    out[slot] = chunk[static_cast<std::size_t>(index - chunk_begin)];
  }
  return out;
}

}  // namespace modeldna::compare
