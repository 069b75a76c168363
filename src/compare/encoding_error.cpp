#include "encoding_error.h"

#include <algorithm>
#include <cmath>

namespace modeldna::compare::detail {
namespace {

// A ggml type's rounding grid: values per sub-block sharing one step, and
// how the step follows from the values (llama.cpp's ggml-quants.c).
struct Grid {
  int64_t sub_block = 0;
  bool symmetric = true;  // step = largest |x| / positive_levels; else range / (levels - 1)
  double levels = 0;      // positive levels (symmetric) or all levels
};

std::optional<Grid> grid_of(io::DType d) {
  using io::DType;
  switch (d) {
    case DType::Q4_0: return Grid{32, true, 8};
    case DType::Q5_0: return Grid{32, true, 16};
    case DType::Q8_0: return Grid{32, true, 127};
    case DType::Q3_K: return Grid{16, true, 4};
    case DType::Q6_K: return Grid{16, true, 32};
    case DType::Q8_K: return Grid{256, true, 127};
    case DType::Q4_1: return Grid{32, false, 16};
    case DType::Q5_1: return Grid{32, false, 32};
    case DType::Q2_K: return Grid{16, false, 4};
    case DType::Q4_K: return Grid{32, false, 16};
    case DType::Q5_K: return Grid{32, false, 32};
    default: return std::nullopt;
  }
}

double step_of(const float* x, int64_t n, const Grid& g) {
  if (g.symmetric) {
    double largest = 0;
    for (int64_t k = 0; k < n; ++k) largest = std::max(largest, static_cast<double>(std::abs(x[k])));
    return largest / g.levels;
  }
  const auto [lo, hi] = std::minmax_element(x, x + n);
  return (static_cast<double>(*hi) - *lo) / (g.levels - 1);
}

double mean_square(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x * x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

}  // namespace

std::optional<double> encoding_relative_error(const io::TensorStore& store, const io::TensorInfo& t,
                                              const std::vector<int64_t>& rows) {
  const auto grid = grid_of(t.dtype);
  if ((!grid && !t.quantization) || t.shape.size() < 2 || t.shape[0] < 1) return std::nullopt;
  const int64_t row_length = t.numel() / t.shape[0];
  if (grid && row_length % grid->sub_block != 0) return std::nullopt;
  std::vector<float> row(static_cast<std::size_t>(row_length));
  double noise = 0, signal = 0;
  for (const int64_t stored : rows) {
    store.read_f32(t, stored * row_length, row_length, row.data());
    for (float x : row) signal += static_cast<double>(x) * x;
    if (grid) {
      for (int64_t b = 0; b < row_length; b += grid->sub_block) {
        const double step = step_of(row.data() + b, grid->sub_block, *grid);
        noise += static_cast<double>(grid->sub_block) * step * step / 12.0;
      }
    } else {
      // Affine codes: the scale is the step (per tensor, or the mean square
      // over the quantized axis's slices).
      noise += static_cast<double>(row_length) * mean_square(t.quantization->scale) / 12.0;
    }
  }
  if (signal <= 0) return std::nullopt;
  return std::sqrt(noise / signal);
}

}  // namespace modeldna::compare::detail
