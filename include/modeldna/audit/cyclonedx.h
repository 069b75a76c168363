// File: modeldna/audit/cyclonedx.h
// Audit results as a CycloneDX 1.6 ML-BOM (https://cyclonedx.org/docs/1.6/json/):
// one `machine-learning-model` component per audited folder, its weight
// files as `file` components with their SHA-256, the model card fields
// CycloneDX defines (architecture, license), and `pedigree.ancestors` from
// the verified lineage, each with compare's evidence as properties
// (docs/audit.md). The tests validate the output against the official
// schema. Torch-free.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "modeldna/audit/audit.h"

namespace modeldna::audit {

/// The BOM for `results` (serial number drawn at random, timestamp now).
nlohmann::json cyclonedx_bom(const std::vector<AuditResult>& results);

/// A license as CycloneDX names it: {"id": SPDX id} for the identifiers of
/// the SPDX list (in its spelling: "apache-2.0" is "Apache-2.0"), else
/// {"name": the identifier as declared} (the hub's own: "llama2", "other").
nlohmann::json cyclonedx_license(const std::string& declared);

}  // namespace modeldna::audit
