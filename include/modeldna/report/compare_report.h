// File: modeldna/report/compare_report.h
// compare's evidence report: one self-contained HTML file (inline CSS and
// SVG, no scripts, nothing fetched) that an auditor can attach to a dispute:
// the verdict and p-value, the layer map, the observed statistics against
// their null, the matched tensors, the constants left out, the behavioural
// evidence. Every string from a model file is escaped. Torch-free.
#pragma once

#include <string>

#include "modeldna/compare/compare.h"

namespace modeldna::report {

std::string compare_report_html(const compare::CompareResult& result, double alpha);

/// Writes the report atomically.
void write_compare_report(const std::string& path, const compare::CompareResult& result, double alpha);

}  // namespace modeldna::report
