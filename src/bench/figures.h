// The paper's figures and ProvBench's ROC curves, as SVG files.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "modeldna/evidence/mgmp_evidence.h"
#include "modeldna/evidence/probe_set.h"
#include "modeldna/metrics/metrics.h"
#include "modeldna/zoo/zoo_models.h"

namespace modeldna::bench {

struct FigureInput {
  zoo::ZooModels& zoo;
  std::vector<std::string> detectors;
  // detector -> relation -> derived pairs (the positive side); detector ->
  // kind -> independent pairs (the negative side).
  std::map<std::string, std::map<std::string, metrics::LabelledScores>> derived;
  std::map<std::string, std::map<std::string, metrics::LabelledScores>> negatives;
  std::vector<std::string> relations;
  evidence::MgmpEvidence* mgmp = nullptr;  // Figures 1, 3, 4 and 5 need MGMP's DNA
  const std::map<std::string, evidence::ModelOutputs>* observed = nullptr;
};

/// Writes <out_dir>/figures/*.svg; returns their paths relative to out_dir.
nlohmann::json draw_figures(const FigureInput& input, const std::string& out_dir);

}  // namespace modeldna::bench
