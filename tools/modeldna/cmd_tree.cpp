// modeldna tree: the family trees over model files or a whole registry.
#include <cmath>
#include <cstdio>
#include <memory>

#include "cli_support.h"
#include "commands.h"
#include "runtime.h"
#include "modeldna/core/error.h"
#include "modeldna/core/json_file.h"
#include "modeldna/registry/family_tree.h"
#include "modeldna/report/tree_render.h"

namespace modeldna::cli {
namespace {

struct TreeCliOptions {
  std::vector<std::string> files;
  std::string db, dot, svg;
  bool json = false;
  lineage::TreeOptions tree;
};

registry::FamilyTree family_tree(const TreeCliOptions& o) {
  if (!o.db.empty()) {
    registry::Registry reg(o.db);
    return registry::family_tree_of_registry(reg, o.tree);
  }
  runtime().hand_over_if_runnable(o.files, RunsFor::Fingerprints);  // before anything is printed
  return registry::family_tree_of_files(o.files, o.tree, runtime().fingerprinter());
}

void run_tree(const TreeCliOptions& o) {
  MDNA_CHECK(o.files.empty() != o.db.empty(), "tree: name model files or --db REGISTRY, not both");
  const auto family = family_tree(o);
  const auto& [tree, paths] = family;
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
