#include "modeldna/registry/family_tree.h"

namespace modeldna::registry {
namespace {

FamilyTree tree_of(const std::vector<Fingerprint>& fingerprints, const lineage::TreeOptions& options) {
  std::vector<const compare::ModelSketch*> sketches;
  FamilyTree out;
  for (const auto& fp : fingerprints) {
    sketches.push_back(&fp.sketch);
    out.paths.push_back(fp.path);
  }
  out.tree = lineage::build_tree(sketches, options);
  return out;
}

}  // namespace

FamilyTree family_tree_of_files(const std::vector<std::string>& paths, const lineage::TreeOptions& options,
                                Fingerprinter& fingerprinter) {
  std::vector<Fingerprint> fingerprints;
  // Through the registry's encoding (float16 sketches): the tree over files
  // then tests what a tree over a registry of the same files tests.
  for (const auto& path : paths) fingerprints.push_back(decode(encode(fingerprinter.fingerprint(path)), path));
  return tree_of(fingerprints, options);
}

FamilyTree family_tree_of_registry(Registry& registry, const lineage::TreeOptions& options) {
  std::vector<Fingerprint> fingerprints;
  for (auto& [record, fp] : registry.fingerprints()) {
    fp.path = record.path;
    fingerprints.push_back(std::move(fp));
  }
  return tree_of(fingerprints, options);
}

}  // namespace modeldna::registry
