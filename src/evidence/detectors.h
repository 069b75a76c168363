// Private to the evidence module: one factory per built-in detector (the
// registry's table lists them) and the small helpers they share.
#pragma once

#include <torch/types.h>

#include <memory>
#include <string>

#include "modeldna/core/error.h"
#include "modeldna/evidence/detector.h"

namespace modeldna::evidence {

std::unique_ptr<Detector> make_output_agreement();
std::unique_ptr<Detector> make_modeldiff();
std::unique_ptr<Detector> make_sac();
std::unique_ptr<Detector> make_akh();
std::unique_ptr<Detector> make_weights();
std::unique_ptr<Detector> make_weights_perm();
std::unique_ptr<Detector> make_compare();

namespace detail {

inline Evidence not_applicable(const std::string& reason) {
  Evidence e;
  e.applicable = false;
  e.details = {{"reason", reason}};
  return e;
}

/// Both models must have been observed on `probes`: 3n rows of logits.
inline void check_observed(const ProbeSet& probes, const ModelOutputs& model) {
  MDNA_CHECK(model.logits.defined() && model.logits.dim() == 2 && model.logits.size(0) == 3 * probes.size(),
             "model '" + model.id + "' was not observed on this probe set (expected " +
                 std::to_string(3 * probes.size()) + " rows of logits)");
}

/// Rows scaled to unit length (zero rows stay zero), in double precision.
inline torch::Tensor unit_rows(const torch::Tensor& x) {
  const auto rows = x.to(torch::kFloat64).flatten(1);
  return rows / rows.norm(2, 1, true).clamp_min(1e-12);
}

/// Cosine similarity of two tensors read as flat vectors; 0 when either is zero.
inline double cosine(const torch::Tensor& a, const torch::Tensor& b) {
  const auto x = a.to(torch::kFloat64).flatten(), y = b.to(torch::kFloat64).flatten();
  const double norms = x.norm().item<double>() * y.norm().item<double>();
  return norms > 0 ? x.dot(y).item<double>() / norms : 0.0;
}

}  // namespace detail
}  // namespace modeldna::evidence
