// File: modeldna/zoo/builder.h
// Trains a zoo from its plan and writes <out>/models/<id>.safetensors and
// <out>/manifest.json. The manifest is rewritten after every model, so an
// interrupted build resumes where it stopped; a resumed build keeps only the
// models still made from what the plan says (ZooModel::built_from).
#pragma once

#include <functional>
#include <string>

#include "modeldna/zoo/manifest.h"
#include "modeldna/zoo/preset.h"

namespace modeldna::zoo {

struct BuildOptions {
  std::string out_dir;
  /// Keep models already in <out>/manifest.json whose plan step, input files
  /// (parent, base, tokenizer) and own file are unchanged and still load.
  bool resume = true;
  /// One line per model made (a rebuilt model's line says why).
  std::function<void(const std::string&)> log;
};

Manifest build_zoo(const ZooPlan& plan, const BuildOptions& options);

}  // namespace modeldna::zoo
