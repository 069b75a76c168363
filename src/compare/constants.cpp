#include "constants.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>
#include <vector>

namespace modeldna::compare::detail {
namespace {

constexpr int64_t kValueRuns = 16;     // contiguous runs: a few pages of the file, not one page per value
constexpr int64_t kRunLength = 256;
constexpr std::size_t kMaxDistinctForConstant = 16;
constexpr int64_t kSpectralRows = 8;
constexpr int64_t kMinSpectralInputs = 32;
constexpr int64_t kMaxSpectralInputs = 256;
constexpr double kSinusoidEnergy = 0.8;

bool name_hints_constant(std::string name) {
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* hint : {"basis", "window", "inv_freq", "rotary", "anchor", "_buffer", "position_ids", "freqs",
                           "mel_filter", "dct", "stft", "fft"})
    if (name.find(hint) != std::string::npos) return true;
  return false;
}

// Fraction of a row's (mean-removed) energy in its two strongest DFT bins.
double top_two_energy(const std::vector<float>& row) {
  const std::size_t n = row.size();
  double mean = 0;
  for (float v : row) mean += v;
  mean /= static_cast<double>(n);
  // One table of the n roots of unity serves every frequency.
  std::vector<double> cosine(n), sine(n);
  for (std::size_t t = 0; t < n; ++t) {
    const double angle = 2 * M_PI * static_cast<double>(t) / static_cast<double>(n);
    cosine[t] = std::cos(angle);
    sine[t] = std::sin(angle);
  }
  std::vector<double> power(n / 2 + 1, 0.0);
  double total = 0;
  for (std::size_t k = 0; k <= n / 2; ++k) {
    double re = 0, im = 0;
    std::size_t phase = 0;
    for (std::size_t t = 0; t < n; ++t) {
      re += (row[t] - mean) * cosine[phase];
      im -= (row[t] - mean) * sine[phase];
      phase += k;
      if (phase >= n) phase -= n;
    }
    power[k] = re * re + im * im;
    total += power[k];
  }
  if (total <= 0) return 1.0;  // a constant row: all of nothing
  std::partial_sort(power.begin(), power.begin() + std::min<std::size_t>(2, power.size()), power.end(),
                    std::greater<double>());
  return (power[0] + (power.size() > 1 ? power[1] : 0)) / total;
}

}  // namespace

std::optional<std::string> looks_constant(const io::TensorStore& store, const io::TensorInfo& t, const UnitShape& shape,
                                          uint64_t seed) {
  const int64_t n = t.numel();
  // Distinct values over a few contiguous runs of elements.
  std::set<float> distinct;
  const int64_t block = std::max<int64_t>(io::traits(t.dtype).block_elems, 1);
  const int64_t run = std::min<int64_t>(n, (kRunLength + block - 1) / block * block);
  const auto starts = sample_indices(std::max<int64_t>(1, (n - run) / block + 1), kValueRuns, seed);
  std::vector<float> values(static_cast<std::size_t>(run));
  int64_t sampled = 0;
  for (int64_t start : starts) {
    store.read_f32(t, start * block, run, values.data());
    sampled += run;
    distinct.insert(values.begin(), values.end());
    if (distinct.size() > kMaxDistinctForConstant * 4) break;
  }
  const bool few_values = n >= 64 && distinct.size() <= kMaxDistinctForConstant;
  if (few_values)
    return "only " + std::to_string(distinct.size()) + " distinct values among " + std::to_string(sampled) +
           " sampled: a table, mask or untrained initialisation";

  // Sinusoidal rows: a Fourier / DCT basis or a position table.
  double median_energy = 0;
  if (shape.inputs >= kMinSpectralInputs && shape.units >= 2) {
    const auto units = sample_indices(shape.units, kSpectralRows, seed + 1);
    // A contiguous run of each row's inputs: frequencies need neighbours.
    std::vector<int64_t> contiguous(static_cast<std::size_t>(std::min(shape.inputs, kMaxSpectralInputs)));
    for (std::size_t j = 0; j < contiguous.size(); ++j) contiguous[j] = static_cast<int64_t>(j);
    const auto runs = read_units(store, t, shape, units, contiguous);
    std::vector<double> energies;
    for (std::size_t i = 0; i < units.size(); ++i) {
      std::vector<float> row(runs.begin() + static_cast<std::ptrdiff_t>(i * contiguous.size()),
                             runs.begin() + static_cast<std::ptrdiff_t>((i + 1) * contiguous.size()));
      energies.push_back(top_two_energy(row));
    }
    std::nth_element(energies.begin(), energies.begin() + static_cast<std::ptrdiff_t>(energies.size() / 2), energies.end());
    median_energy = energies[energies.size() / 2];
    if (median_energy >= kSinusoidEnergy)
      return "rows are sinusoids (median " + std::to_string(static_cast<int>(100 * median_energy)) +
             "% of a row's energy in two frequencies): a Fourier basis or position table";
  }
  if (name_hints_constant(t.name) && (distinct.size() <= 64 || median_energy >= 0.5))
    return "its name and values say basis, window or frequency table";
  return std::nullopt;
}

}  // namespace modeldna::compare::detail
