// File: modeldna/registry/family_tree.h
// The one library call behind "which of these models came from which?": the
// CLI's `tree`, over model files or over every model of a registry. Both
// paths test the same thing, the fingerprints as the registry stores them
// (float16 sketches), so a tree over files and one over a registry of those
// files agree. Torch-free.
#pragma once

#include <string>
#include <vector>

#include "modeldna/lineage/tree.h"
#include "modeldna/registry/fingerprinter.h"
#include "modeldna/registry/registry.h"

namespace modeldna::registry {

struct FamilyTree {
  lineage::Tree tree;
  std::vector<std::string> paths;  // the models, in the tree's node order
};

FamilyTree family_tree_of_files(const std::vector<std::string>& paths, const lineage::TreeOptions& options,
                                Fingerprinter& fingerprinter);
FamilyTree family_tree_of_registry(Registry& registry, const lineage::TreeOptions& options);

}  // namespace modeldna::registry
