// File: modeldna/report/tree_render.h
// A lineage forest (lineage/tree.h) for people and programs: JSON
// (docs/registry.md), indented text, Graphviz DOT, and a self-contained SVG
// that lays each family out as a tree, root on the left, edges labelled with
// the relation. `paths` names the models (same order as the tree's input).
// Torch-free.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "modeldna/lineage/tree.h"

namespace modeldna::report {

/// Short names for models in pictures and text: each file's stem, lengthened
/// by parent folders where two would read the same (four model.json files
/// become face/model, hand/model, ...).
std::vector<std::string> model_labels(const std::vector<std::string>& paths);

nlohmann::json tree_json(const lineage::Tree& tree, const std::vector<std::string>& paths);
std::string tree_text(const lineage::Tree& tree, const std::vector<std::string>& paths);
std::string tree_dot(const lineage::Tree& tree, const std::vector<std::string>& paths);
std::string tree_svg(const lineage::Tree& tree, const std::vector<std::string>& paths);

}  // namespace modeldna::report
