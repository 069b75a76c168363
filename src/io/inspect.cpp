#include "modeldna/io/inspect.h"

#include <chrono>

#include "modeldna/core/error.h"
#include "modeldna/io/language_model.h"

namespace modeldna::io {

nlohmann::json tensor_json(const TensorInfo& t) {
  nlohmann::json j = {{"name", t.name},
                      {"dtype", dtype_name(t.dtype)},
                      {"shape", t.shape},
                      {"layout", layout_name(t.layout)},
                      {"role", role_name(t.role)},
                      {"bytes", t.size_bytes}};
  if (!t.contiguous()) j["strides"] = t.strides;
  if (t.quantization) {
    j["quantization"] = {{"axis", t.quantization->axis}, {"scales", t.quantization->scale.size()}};
    if (t.quantization->scale.size() == 1) {
      j["quantization"]["scale"] = t.quantization->scale[0];
      j["quantization"]["zero_point"] = t.quantization->zero_point[0];
    }
  }
  if (!t.note.empty()) j["note"] = t.note;
  return j;
}

nlohmann::json stats_json(const TensorStats& s) {
  return {{"mean", s.mean}, {"std", s.stddev}, {"min", s.min}, {"max", s.max}, {"zeros", s.zeros}, {"non_finite", s.non_finite}};
}

nlohmann::json describe_store(const TensorStore& store, const InspectOptions& o) {
  const auto summary = summarize(store);
  nlohmann::json out = {{"format", format_name(store.format())},
                        {"files", store.files()},
                        {"tensor_count", summary.tensors},
                        {"parameter_count", summary.parameters},
                        {"total_bytes", summary.bytes},
                        {"dtypes", summary.dtypes},
                        {"graph_nodes", store.graph().size()},
                        {"metadata", store.metadata()}};
  // A file is inspected even when its language-model metadata is unusable
  // (compare refuses it): the problem is part of the description.
  try {
    if (const auto lm = language_model_config(store)) out["language_model"] = lm->to_json();
  } catch (const FormatError& e) {
    out["language_model"] = {{"error", e.what()}};
  }
  if (!o.tensors && !o.stats) return out;
  const auto start = std::chrono::steady_clock::now();
  out["tensors"] = nlohmann::json::array();
  for (const auto& t : store.tensors()) {
    auto j = tensor_json(t);
    if (o.stats) j["stats"] = stats_json(tensor_stats(store, t));
    out["tensors"].push_back(std::move(j));
  }
  if (o.stats) out["stats_ms"] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return out;
}

}  // namespace modeldna::io
