#include "relation.h"

#include <algorithm>

namespace modeldna::compare::detail {
namespace {

// Lower precision than float32, or integer codes: what quantization leaves.
bool lossy(const io::TensorInfo& t) { return io::is_block(t.dtype) || t.quantization || t.dtype == io::DType::F8_E4M3 || t.dtype == io::DType::F8_E5M2; }

}  // namespace

Relation guess_relation(const CompareResult& r, const io::TensorStore& source, const io::TensorStore& target) {
  if (r.identical_files) return Relation::Identical;
  if (r.verdict == Verdict::Independent || r.verdict == Verdict::Inconclusive) return Relation::None;
  int64_t derived = 0, unchanged = 0, exact = 0, fresh = 0, unmatched = 0, lossy_targets = 0, more_zeros = 0;
  double max_relative = 0;
  for (const auto& layer : r.layers) {
    if (!layer.source) {
      ++unmatched;
      continue;
    }
    if (layer.verdict == LayerVerdict::New) {
      ++fresh;
      continue;
    }
    ++derived;
    if (layer.verdict == LayerVerdict::FromSource) ++unchanged;
    if (layer.max_abs_difference == 0) ++exact;
    const auto* t = target.find(layer.target);
    const auto* s = source.find(*layer.source);
    if (t && s && lossy(*t) && !lossy(*s)) ++lossy_targets;
    if (layer.zero_fraction_target >= layer.zero_fraction_source + 0.2) ++more_zeros;
    max_relative = std::max(max_relative, layer.relative_difference);
  }
  if (derived == 0) return r.layers.empty() ? Relation::None : Relation::LayersTransplanted;
  const bool all_derived = fresh == 0;
  if (all_derived && unmatched == 0 && exact == derived) {
    const bool same_format = source.format() == target.format();
    bool same_dtypes = true;
    for (const auto& layer : r.layers) {
      const auto* t = target.find(layer.target);
      const auto* s = layer.source ? source.find(*layer.source) : nullptr;
      if (t && s && (t->dtype != s->dtype || t->layout != s->layout)) same_dtypes = false;
    }
    return same_format && same_dtypes ? Relation::Identical : Relation::Converted;
  }
  // Float16 / bfloat16 rounding moves values by well under 0.2% of their
  // norm; quantization by up to 3%; anything more was trained.
  if (all_derived && unmatched == 0 && lossy_targets == 0 && max_relative <= kRoundingRelativeDifference)
    return Relation::Converted;
  if (all_derived && unmatched == 0 && lossy_targets > 0 && unchanged == derived) return Relation::Quantized;
  if (all_derived && unmatched == 0 && more_zeros * 2 >= derived) return Relation::Pruned;
  // A backbone from the source with new layers: layers the target has that
  // match nothing (another head shape) or that changed beyond recognition.
  if (fresh > 0 && derived >= fresh) return Relation::PartialOrNewHead;
  if (fresh > 0) return Relation::LayersTransplanted;
  // Some layers kept exactly (frozen) while others moved: a partial fine-tune.
  if (unmatched > 0 || (exact > 0 && exact < derived)) return Relation::PartialOrNewHead;
  return Relation::FineTuned;
}

}  // namespace modeldna::compare::detail
