#include "relation.h"

#include <algorithm>

#include "encoding_error.h"

namespace modeldna::compare::detail {

bool lossy(const io::TensorInfo& t) {
  return io::is_block(t.dtype) || t.quantization || t.dtype == io::DType::F8_E4M3 || t.dtype == io::DType::F8_E5M2;
}

double unchanged_bound(double encoding_error) {
  return encoding_error >= 0 ? kEncodingErrorMultiple * encoding_error : kUnchangedRelativeDifference;
}

LayerVerdict layer_verdict(bool significant, bool permuted, double relative_difference, double encoding_error) {
  if (!significant && !permuted) return LayerVerdict::New;
  // A quantized target's own rounding sets the bound (a fine-tune's 2-3%
  // change is not a Q8_0 copy's 0.5%); float storage keeps the fixed one.
  if (!permuted && relative_difference >= 0 && relative_difference <= unchanged_bound(encoding_error)) return LayerVerdict::FromSource;
  return LayerVerdict::Modified;
}

Relation relation_from_layers(const std::vector<LayerFacts>& layers, bool derived_model, bool identical_files, bool same_format) {
  if (identical_files) return Relation::Identical;
  if (!derived_model) return Relation::None;
  int64_t derived = 0, unchanged = 0, exact = 0, fresh = 0, unmatched = 0, lossy_targets = 0, more_zeros = 0;
  int64_t transformed = 0, fresh_despite_geometry = 0;
  bool same_storage = true;
  double max_relative = 0;
  for (const auto& layer : layers) {
    if (!layer.matched) {
      ++unmatched;
      continue;
    }
    if (layer.verdict == LayerVerdict::New) {
      ++fresh;
      fresh_despite_geometry += layer.geometry_tested;
      continue;
    }
    ++derived;
    transformed += layer.transformed;
    if (layer.verdict == LayerVerdict::FromSource) ++unchanged;
    if (layer.max_abs_difference == 0) ++exact;
    if (layer.lossy_target && !layer.lossy_source) ++lossy_targets;
    if (layer.zero_fraction_target >= layer.zero_fraction_source + 0.2) ++more_zeros;
    same_storage = same_storage && layer.same_storage;
    max_relative = std::max(max_relative, layer.relative_difference);
  }
  if (derived == 0) return layers.empty() ? Relation::None : Relation::LayersTransplanted;
  const bool all_derived = fresh == 0;
  // A rotated or relabelled copy: the layers a geometry test saw through are
  // unchanged, every derived layer is, and the layers left "new" are the ones
  // no exact test reaches under such a transform (Q, K, token tables).
  if (transformed > 0 && unchanged == derived && fresh_despite_geometry == 0 && unmatched == 0)
    return Relation::Transformed;
  if (all_derived && unmatched == 0 && exact == derived)
    return same_format && same_storage ? Relation::Identical : Relation::Converted;
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

Relation guess_relation(const CompareResult& r, const io::TensorStore& source, const io::TensorStore& target) {
  std::vector<LayerFacts> facts;
  for (const auto& layer : r.layers) {
    LayerFacts f;
    f.matched = layer.source.has_value();
    f.verdict = layer.verdict;
    f.max_abs_difference = layer.max_abs_difference;
    f.relative_difference = layer.relative_difference;
    f.zero_fraction_source = layer.zero_fraction_source;
    f.zero_fraction_target = layer.zero_fraction_target;
    f.transformed = layer.test != LayerTest::MatchedUnits;
    f.geometry_tested = layer.geometry_tested;
    const auto* t = target.find(layer.target);
    const auto* s = layer.source ? source.find(*layer.source) : nullptr;
    if (t && s) {
      f.lossy_source = lossy(*s);
      f.lossy_target = lossy(*t);
      f.same_storage = t->dtype == s->dtype && t->layout == s->layout;
    }
    facts.push_back(f);
  }
  return relation_from_layers(facts, r.verdict == Verdict::Derived, r.identical_files, source.format() == target.format());
}

}  // namespace modeldna::compare::detail
