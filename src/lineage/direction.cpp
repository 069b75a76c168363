#include "modeldna/lineage/direction.h"

#include <cmath>

namespace modeldna::lineage {
namespace {

// Pruning sets at least this much more of a layer to exact zeros.
constexpr double kPrunedZeros = 0.05;
// A mean log-kurtosis change below this is noise.
constexpr double kKurtosisNoise = 0.005;
constexpr double kKurtosisScale = 0.02;

}  // namespace

DirectionVote direction(const compare::ModelSketch& a, const compare::ModelSketch& b, const compare::SketchComparison& c) {
  int lossy_b = 0, lossy_a = 0, changed = 0, fewer_bits_b = 0, fewer_bits_a = 0;
  double zeros = 0, log_kurtosis = 0, zeros_both = 0;
  for (const auto& p : c.pairs) {
    const auto& x = a.tensors[p.source];
    const auto& y = b.tensors[p.target];
    lossy_b += y.lossy && !x.lossy;
    lossy_a += x.lossy && !y.lossy;
    // Precision is read only off layers the two share up to rounding: a
    // float32 fine-tune of a float16 model gains bits by training.
    if (p.verdict != compare::LayerVerdict::New && p.relative_difference >= 0 &&
        p.relative_difference <= compare::kUnchangedRelativeDifference) {
      fewer_bits_b += y.mantissa_bits < x.mantissa_bits;
      fewer_bits_a += x.mantissa_bits < y.mantissa_bits;
    }
    zeros += y.zero_fraction - x.zero_fraction;
    zeros_both += std::min(y.zero_fraction, x.zero_fraction);
    if (p.verdict != compare::LayerVerdict::New && p.relative_difference > compare::kUnchangedRelativeDifference && x.kurtosis > 0 && y.kurtosis > 0) {
      log_kurtosis += std::log(y.kurtosis / x.kurtosis);
      ++changed;
    }
  }
  if (c.pairs.empty()) return {0, "no tensor in common"};
  if (lossy_b > lossy_a) return {1, "the second is quantized and the first is not (quantization loses information)"};
  if (lossy_a > lossy_b) return {-1, "the first is quantized and the second is not (quantization loses information)"};
  if (fewer_bits_b > fewer_bits_a)
    return {1, "the second carries fewer bits per value (a float16 or bfloat16 copy loses precision, never gains it)"};
  if (fewer_bits_a > fewer_bits_b)
    return {-1, "the first carries fewer bits per value (a float16 or bfloat16 copy loses precision, never gains it)"};
  zeros /= static_cast<double>(c.pairs.size());
  if (zeros > kPrunedZeros) return {1, "the second has more exact zeros (pruned)"};
  if (zeros < -kPrunedZeros) return {-1, "the first has more exact zeros (pruned)"};
  bool identical = true, shared = false;
  for (const auto& p : c.pairs) {
    identical = identical && p.max_abs_difference == 0;
    shared = shared || p.max_abs_difference == 0;
  }
  if (zeros_both / static_cast<double>(c.pairs.size()) > 2 * kPrunedZeros && !identical)
    return {0, "both pruned to the same sparsity: related through a dense model, neither is the other's parent", true};
  if (changed == 0) return {0, "no changed layer to read a direction from"};
  // A partial fine-tune: its few changed layers say nothing of which of the
  // two changed them (measured: the text transformer's kurtosis falls where
  // LeNet's rises, and a head-only fine-tune made its source its child).
  if (shared) return {0, "layers in common unchanged: a partial fine-tune, kurtosis cannot tell which changed"};
  log_kurtosis /= changed;
  if (std::abs(log_kurtosis) < kKurtosisNoise) return {0, "kurtosis of the changed layers about equal"};
  return {0.5 * std::tanh(log_kurtosis / kKurtosisScale),
          log_kurtosis > 0 ? "the second's changed layers have higher kurtosis (fine-tuning raised it for most of our architectures; a weak cue)"
                           : "the first's changed layers have higher kurtosis (fine-tuning raised it for most of our architectures; a weak cue)"};
}

}  // namespace modeldna::lineage
