// modeldna tree: the family trees over model files or a whole registry.
#include <cmath>
#include <cstdio>
#include <memory>

#include "cli_support.h"
#include "commands.h"
#include "runtime.h"
#include "modeldna/core/error.h"
#include "modeldna/core/json_file.h"
#include "modeldna/lineage/tree.h"
#include "modeldna/report/tree_render.h"

namespace modeldna::cli {
namespace {

struct TreeCliOptions {
  std::vector<std::string> files;
  std::string db, dot, svg;
  bool json = false;
  lineage::TreeOptions tree;
};

void run_tree(const TreeCliOptions& o) {
  MDNA_CHECK(o.files.empty() != o.db.empty(), "tree: name model files or --db REGISTRY, not both");
  std::vector<registry::Fingerprint> fingerprints;
  if (!o.db.empty()) {
    registry::Registry reg(o.db);
    for (auto& [record, fp] : reg.fingerprints()) {
      fp.path = record.path;
      fingerprints.push_back(std::move(fp));
    }
  } else {
    // As the registry would store them (float16 sketches), so a tree over
    // files and one over a registry of the same files agree.
    runtime().hand_over_if_runnable(o.files);
    for (const auto& f : o.files) fingerprints.push_back(registry::decode(registry::encode(runtime().fingerprint(f)), f));
  }
  std::vector<const compare::ModelSketch*> sketches;
  std::vector<std::string> paths;
  for (const auto& fp : fingerprints) {
    sketches.push_back(&fp.sketch);
    paths.push_back(fp.path);
  }
  const auto tree = lineage::build_tree(sketches, o.tree);
  const auto j = report::tree_json(tree, paths);
  if (!o.dot.empty()) write_file_atomically(o.dot, report::tree_dot(tree, paths));
  if (!o.svg.empty()) write_file_atomically(o.svg, report::tree_svg(tree, paths));
  if (o.json) return print_json(j);
  std::printf("%zu models, %zu %s, %zu %s (edge level p < 1e%.1f: alpha %g over %lld pairs)\n", paths.size(),
              tree.roots.size(), tree.roots.size() == 1 ? "family" : "families", tree.edges.size(),
              tree.edges.size() == 1 ? "edge" : "edges", tree.log10_edge_level, o.tree.alpha,
              static_cast<long long>(tree.comparisons));
  std::printf("%s", report::tree_text(tree, paths).c_str());
}

}  // namespace

void add_tree_command(CLI::App& app) {
  auto o = std::make_shared<TreeCliOptions>();
  auto* cmd = app.add_subcommand("tree", "Family trees: which model came from which, over files or a registry");
  cmd->add_option("files", o->files, "Model files (or --db)");
  cmd->add_option("--db", o->db, "Every model of this registry (an SQLite file or a postgresql:// URL)");
  add_json_flag(cmd, o->json, "Print the forest as JSON (docs/registry.md)");
  cmd->add_option("--dot", o->dot, "Also write it as Graphviz DOT here");
  cmd->add_option("--svg", o->svg, "Also draw it as SVG here");
  cmd->add_option("--alpha", o->tree.alpha, "Family-wise level of an edge, over all pairs (default 0.01)");
  cmd->callback([o] { run_tree(*o); });
}

}  // namespace modeldna::cli
