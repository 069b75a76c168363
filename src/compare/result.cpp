// Names of compare's closed sets, fusing behavioural evidence, and the JSON
// of docs/spec/compare-v2.md.
#include <cmath>
#include <cstdio>

#include "modeldna/compare/compare.h"
#include "modeldna/compare/stats.h"
#include "modeldna/core/error.h"

namespace modeldna::compare {

std::string_view verdict_name(Verdict v) {
  switch (v) {
    case Verdict::Derived: return "derived";
    case Verdict::Independent: return "independent";
    case Verdict::Inconclusive: return "inconclusive";
  }
  throw InternalError("invalid Verdict");
}

std::string_view undone_name(Undone u) {
  switch (u) {
    case Undone::Layout: return "layout";
    case Undone::RotaryRows: return "rotary rows";
    case Undone::Vocabulary: return "vocabulary";
    case Undone::Relabelling: return "relabelling";
    case Undone::InputsRotated: return "inputs rotated";
    case Undone::UnitsRotated: return "units rotated";
    case Undone::FusedProjection: return "fused projection split";
  }
  throw InternalError("invalid Undone value");
}

std::string undone_list(const std::vector<Undone>& undone) {
  std::string out;
  for (const auto u : undone) out += (out.empty() ? "" : ", ") + std::string(undone_name(u));
  return out;
}

std::string_view paired_by_name(PairedBy p) {
  switch (p) {
    case PairedBy::None: return "none";
    case PairedBy::Name: return "name";
    case PairedBy::Structure: return "structure";
    case PairedBy::BlockAlignment: return "block alignment";
  }
  throw InternalError("invalid PairedBy value");
}

std::string_view relation_name(Relation r) {
  switch (r) {
    case Relation::Identical: return "identical";
    case Relation::Converted: return "re-export/converted";
    case Relation::Quantized: return "quantized";
    case Relation::Pruned: return "pruned";
    case Relation::DepthPruned: return "depth-pruned (blocks dropped)";
    case Relation::VocabularyExtended: return "vocabulary-extended (tokens added)";
    case Relation::Transformed: return "transformed (rotated or relabelled)";
    case Relation::FineTuned: return "fine-tuned";
    case Relation::PartialOrNewHead: return "partially fine-tuned or new head";
    case Relation::LayersTransplanted: return "layers transplanted";
    case Relation::Distilled: return "distilled";
    case Relation::None: return "none";
  }
  throw InternalError("invalid Relation");
}

std::string_view layer_test_name(LayerTest t) {
  switch (t) {
    case LayerTest::MatchedUnits: return "matched units";
    case LayerTest::UnitGeometry: return "unit geometry";
    case LayerTest::InputGeometry: return "input geometry";
  }
  throw InternalError("invalid LayerTest");
}

std::string_view layer_verdict_name(LayerVerdict v) {
  switch (v) {
    case LayerVerdict::FromSource: return "from source";
    case LayerVerdict::Modified: return "modified";
    case LayerVerdict::New: return "new";
  }
  throw InternalError("invalid LayerVerdict");
}

std::string_view decided_by_name(DecidedBy d) {
  switch (d) {
    case DecidedBy::WhiteBox: return "white-box";
    case DecidedBy::BlackBox: return "black-box";
    case DecidedBy::WhiteAndBlackBox: return "white-box and black-box";
    case DecidedBy::Identity: return "identity";
    case DecidedBy::None: return "none";
  }
  throw InternalError("invalid DecidedBy");
}

std::string_view exclusion_name(Exclusion e) {
  switch (e) {
    case Exclusion::NotLearned: return "not learned";
    case Exclusion::Integer: return "integer";
    case Exclusion::Structured: return "structured constant";
    case Exclusion::TooSmall: return "too small";
    case Exclusion::Vector: return "vector";
  }
  throw InternalError("invalid Exclusion");
}

std::string p_value_text(double log10_p) {
  char buffer[48];
  if (log10_p > -4) std::snprintf(buffer, sizeof buffer, "%.4g", std::pow(10.0, log10_p));
  else std::snprintf(buffer, sizeof buffer, "1e%.1f", log10_p);
  return buffer;
}

double CompareResult::p_value() const { return std::pow(10.0, log10_p); }

void fuse(CompareResult& r, BlackBoxEvidence bb, const CompareOptions& o) {
  r.black_box = std::move(bb);
  const auto& b = r.black_box;
  if (!b.available) {
    r.notes.push_back("black-box evidence: " + b.reason);
    return;
  }
  if (!b.log10_p) {
    // Behaviour without a calibrated null can neither clear nor implicate.
    r.notes.push_back("black-box evidence has no reference panel, so no p-value: the verdict rests on the weights");
    return;
  }
  const double level = std::log10(o.alpha);
  const bool white_tested = r.tested_layers > 0;
  if (white_tested) {
    r.log10_p = bonferroni_log10(std::min(r.log10_p_white_box, *b.log10_p), 2);
    r.combination = "Bonferroni over the white-box layers, then over the white-box and black-box families";
  } else {
    r.log10_p = *b.log10_p;
    r.combination = "black-box only (" + b.calibration + ")";
  }
  if (r.decided_by == DecidedBy::Identity) return;
  const bool white_alone = white_tested && bonferroni_log10(r.log10_p_white_box, 2) < level;
  const bool black_alone = bonferroni_log10(*b.log10_p, white_tested ? 2 : 1) < level;
  if (!(r.log10_p < level)) {
    // Weights tested yet inconclusive: a relabelling without an exact
    // p-value withholds "independent" (white_box.cpp).
    if (r.verdict == Verdict::Inconclusive && white_tested) return;
    if (r.verdict == Verdict::Derived)
      r.notes.push_back("the white-box p-value alone is below alpha, but not after Bonferroni over both families");
    r.verdict = Verdict::Independent;
    r.relation = Relation::None;
    r.decided_by = white_tested ? DecidedBy::WhiteAndBlackBox : DecidedBy::BlackBox;
    return;
  }
  const bool weights_said_derived = r.verdict == Verdict::Derived;
  r.verdict = Verdict::Derived;
  if (white_alone && black_alone) r.decided_by = DecidedBy::WhiteAndBlackBox;
  else if (white_alone) r.decided_by = DecidedBy::WhiteBox;
  else r.decided_by = DecidedBy::BlackBox;
  // No weight trace at the level, yet the behaviour follows the source's.
  if (!weights_said_derived && r.decided_by == DecidedBy::BlackBox) r.relation = Relation::Distilled;
}

nlohmann::json to_json(const CompareResult& r) {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : r.layers) {
    nlohmann::json j = {{"target", l.target},
                        {"source", l.source ? nlohmann::json(*l.source) : nlohmann::json(nullptr)},
                        {"target_shape", l.target_shape},
                        {"target_layout", l.target_layout},
                        {"matched_by", paired_by_name(l.matched_by)},
                        {"verdict", layer_verdict_name(l.verdict)}};
    if (l.source) {
      j["source_shape"] = l.source_shape;
      j["source_layout"] = l.source_layout;
      j["similarity"] = l.similarity;
      j["null_similarity"] = l.null_similarity;
      j["z"] = l.z;
      j["log10_p"] = l.log10_p;
      j["p_value"] = std::pow(10.0, l.log10_p);
      j["p_exact"] = l.exact_p;
      j["units_sampled"] = l.units;
      j["inputs_sampled"] = l.inputs;
      j["permuted"] = l.permuted;
      if (l.encoding_error >= 0) j["encoding_error"] = l.encoding_error;
      j["undone"] = nlohmann::json::array();
      for (const auto u : l.undone) j["undone"].push_back(undone_name(u));
      j["tested_over"] = l.over_inputs ? "inputs" : "units";
      j["test"] = layer_test_name(l.test);
      j["relative_difference"] = l.relative_difference;
      j["max_abs_difference"] = l.max_abs_difference;
      j["zero_fraction"] = {{"source", l.zero_fraction_source}, {"target", l.zero_fraction_target}};
    }
    layers.push_back(std::move(j));
  }
  nlohmann::json excluded = nlohmann::json::array();
  for (const auto& e : r.excluded)
    excluded.push_back({{"model", e.model}, {"tensor", e.name}, {"reason", exclusion_name(e.reason)}, {"detail", e.detail}});
  nlohmann::json black_box = {{"available", r.black_box.available}};
  if (!r.black_box.available) black_box["reason"] = r.black_box.reason;
  else {
    black_box["signals"] = r.black_box.signals;
    black_box["score"] = r.black_box.score;
    black_box["log10_p"] = r.black_box.log10_p ? nlohmann::json(*r.black_box.log10_p) : nlohmann::json(nullptr);
    black_box["calibration"] = r.black_box.calibration;
  }
  return {{"format", "modeldna-compare"},
          {"version", kCompareFormatVersion},
          {"source", {{"path", r.source_path}, {"format", r.source_format}}},
          {"target", {{"path", r.target_path}, {"format", r.target_format}}},
          {"verdict", verdict_name(r.verdict)},
          {"p_value", r.p_value()},
          {"log10_p", r.log10_p},
          {"relation", relation_name(r.relation)},
          {"decided_by", decided_by_name(r.decided_by)},
          {"evidence",
           {{"white_box",
             {{"log10_p", r.log10_p_white_box},
              {"tested_layers", r.tested_layers},
              {"geometry_tests", r.geometry_tests},
              {"combination", r.combination},
              {"identical_files", r.identical_files}}},
            {"black_box", black_box},
            {"excluded", excluded},
            {"notes", r.notes}}},
          {"layers", layers},
          {"timings", r.timings}};
}

}  // namespace modeldna::compare
