#include "modeldna/report/tree_render.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <sstream>

#include "modeldna/report/svg_chart.h"

namespace modeldna::report {

std::vector<std::string> model_labels(const std::vector<std::string>& paths) {
  // Each path's components, file stem last; a label is its last k of them.
  std::vector<std::vector<std::string>> parts(paths.size());
  for (std::size_t i = 0; i < paths.size(); ++i) {
    const auto p = std::filesystem::path(paths[i]);
    for (const auto& part : p.parent_path())
      if (!part.empty() && part != "/" && part != ".") parts[i].push_back(part.string());
    parts[i].push_back(p.has_stem() ? p.stem().string() : p.string());
  }
  auto last = [&](std::size_t i, std::size_t k) {
    std::string text;
    const auto& c = parts[i];
    for (std::size_t j = c.size() - std::min(k, c.size()); j < c.size(); ++j) text += (text.empty() ? "" : "/") + c[j];
    return text;
  };
  std::vector<std::size_t> depth(paths.size(), 1);
  // Lengthen every label that another label equals, one component at a time,
  // until all differ or the labels are whole paths.
  for (bool changed = true; changed;) {
    changed = false;
    std::map<std::string, std::vector<std::size_t>> by_label;
    for (std::size_t i = 0; i < paths.size(); ++i) by_label[last(i, depth[i])].push_back(i);
    for (const auto& [text, same] : by_label) {
      if (same.size() < 2) continue;
      for (std::size_t i : same)
        if (depth[i] < parts[i].size()) ++depth[i], changed = true;
    }
  }
  std::vector<std::string> labels;
  for (std::size_t i = 0; i < paths.size(); ++i) labels.push_back(last(i, depth[i]));
  return labels;
}

namespace {

struct Forest {
  std::vector<std::vector<std::size_t>> children;
  std::vector<const lineage::TreeEdge*> edge_to;  // the edge into each model (null for roots)
};

Forest forest_of(const lineage::Tree& tree, std::size_t n) {
  Forest f{std::vector<std::vector<std::size_t>>(n), std::vector<const lineage::TreeEdge*>(n, nullptr)};
  for (const auto& e : tree.edges) {
    f.children[e.parent].push_back(e.child);
    f.edge_to[e.child] = &e;
  }
  return f;
}

// Okabe-Ito colours per relation, so the figure reads the same in every run.
std::string relation_colour(compare::Relation r) {
  switch (r) {
    case compare::Relation::Identical:
    case compare::Relation::Converted:
    case compare::Relation::Transformed: return "#000000";
    case compare::Relation::Quantized: return "#E69F00";
    case compare::Relation::Pruned:
    case compare::Relation::DepthPruned: return "#CC79A7";
    case compare::Relation::FineTuned:
    case compare::Relation::VocabularyExtended: return "#0072B2";
    case compare::Relation::PartialOrNewHead: return "#56B4E9";
    case compare::Relation::LayersTransplanted: return "#D55E00";
    case compare::Relation::Distilled: return "#009E73";
    case compare::Relation::None: return "#999999";
  }
  return "#999999";
}

}  // namespace

nlohmann::json tree_json(const lineage::Tree& tree, const std::vector<std::string>& paths) {
  nlohmann::json j;
  j["version"] = 1;
  j["models"] = paths.size();
  j["comparisons"] = tree.comparisons;
  j["log10_edge_level"] = tree.log10_edge_level;
  j["edges"] = nlohmann::json::array();
  for (const auto& e : tree.edges) {
    nlohmann::json also = nlohmann::json::array();
    for (std::size_t d : e.also_from) also.push_back(paths[d]);
    j["edges"].push_back({{"parent", paths[e.parent]},
                          {"child", paths[e.child]},
                          {"p_value", std::pow(10.0, e.log10_p)},
                          {"log10_p", e.log10_p},
                          {"copied", e.copied},
                          {"relation", compare::relation_name(e.relation)},
                          {"closeness", e.closeness},
                          {"direction_vote", e.direction_vote},
                          {"direction_reason", e.direction_reason},
                          {"also_from", also}});
  }
  j["roots"] = nlohmann::json::array();
  for (std::size_t r : tree.roots) j["roots"].push_back(paths[r]);
  j["assembled"] = nlohmann::json::array();
  for (std::size_t v = 0; v < tree.assembled.size(); ++v)
    if (tree.assembled[v]) j["assembled"].push_back(paths[v]);
  return j;
}

std::string tree_text(const lineage::Tree& tree, const std::vector<std::string>& paths) {
  const auto labels = model_labels(paths);
  const auto f = forest_of(tree, paths.size());
  std::ostringstream os;
  std::function<void(std::size_t, int)> walk = [&](std::size_t v, int depth) {
    os << std::string(static_cast<std::size_t>(2 * depth), ' ') << (depth ? "<- " : "") << labels[v];
    if (const auto* e = f.edge_to[v]) {
      os << "  [" << compare::relation_name(e->relation) << ", " << (e->copied ? "copy, tested p " : "p ") << compare::p_value_text(e->log10_p) << "]";
      for (std::size_t d : e->also_from) os << " (also layers from " << labels[d] << ")";
    }
    os << "\n";
    for (std::size_t c : f.children[v]) walk(c, depth + 1);
  };
  for (std::size_t r : tree.roots) walk(r, 0);
  return os.str();
}

std::string tree_dot(const lineage::Tree& tree, const std::vector<std::string>& paths) {
  const auto labels = model_labels(paths);
  auto quoted = [](const std::string& s) {
    std::string out = "\"";
    for (char c : s) out += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
    return out + "\"";
  };
  std::ostringstream os;
  os << "digraph lineage {\n  rankdir=LR;\n  node [shape=box, fontname=\"DejaVu Sans\"];\n";
  for (std::size_t v = 0; v < paths.size(); ++v) os << "  n" << v << " [label=" << quoted(labels[v]) << "];\n";
  for (const auto& e : tree.edges)
    os << "  n" << e.parent << " -> n" << e.child << " [label=" << quoted(std::string(compare::relation_name(e.relation)))
       << ", color=" << quoted(relation_colour(e.relation)) << "];\n";
  for (const auto& e : tree.edges)
    for (std::size_t d : e.also_from)
      os << "  n" << d << " -> n" << e.child << " [style=dashed, label=\"layers\", color=" << quoted(relation_colour(e.relation)) << "];\n";
  os << "}\n";
  return os.str();
}

namespace {

std::string counted(std::size_t n, const char* one, const char* many) { return std::to_string(n) + " " + (n == 1 ? one : many); }

std::vector<compare::Relation> legend_relations() {
  return {compare::Relation::FineTuned, compare::Relation::PartialOrNewHead, compare::Relation::Quantized,
          compare::Relation::Pruned,    compare::Relation::LayersTransplanted, compare::Relation::Converted};
}

}  // namespace

std::string tree_svg(const lineage::Tree& tree, const std::vector<std::string>& paths) {
  const std::size_t n = paths.size();
  const auto labels = model_labels(paths);
  const auto f = forest_of(tree, n);
  // Tidy layout, root on the left: leaves take consecutive rows, a parent
  // sits at the middle of its children's rows.
  // A column leaves room between boxes for the longest relation name at the
  // edge labels' 9 px (about 5.5 px a character, DejaVu Sans).
  constexpr double kRow = 22, kLeft = 20, kTop = 60, kBoxWidth = 230, kBoxHeight = 18, kEdgeLabelChar = 5.5;
  std::size_t longest_relation = 0;
  for (const auto& e : tree.edges) longest_relation = std::max(longest_relation, compare::relation_name(e.relation).size());
  const double kColumn = kBoxWidth + 24 + kEdgeLabelChar * static_cast<double>(longest_relation);
  std::vector<double> y(n, 0);
  std::vector<int> depth(n, 0);
  double next_row = 0;
  int max_depth = 0;
  std::vector<std::size_t> families, singletons;
  for (std::size_t r : tree.roots) (f.children[r].empty() ? singletons : families).push_back(r);
  std::function<void(std::size_t, int)> place = [&](std::size_t v, int d) {
    depth[v] = d;
    max_depth = std::max(max_depth, d);
    if (f.children[v].empty()) {
      y[v] = next_row++;
      return;
    }
    for (std::size_t c : f.children[v]) place(c, d + 1);
    y[v] = (y[f.children[v].front()] + y[f.children[v].back()]) / 2;
  };
  for (std::size_t r : families) {
    place(r, 0);
    next_row += 0.8;  // a gap between families
  }
  // Unrelated models (roots with no relatives) in a grid below.
  const int columns = std::max(1, max_depth + 1);
  const double grid_top = next_row + 1.5;
  const double grid_rows = std::ceil(static_cast<double>(singletons.size()) / columns);
  // Wide enough for the columns, the legend and the title (about 7 px a
  // character at 11 px, 9 at 16 px bold).
  const auto legend = legend_relations();
  double legend_width = 0;
  for (auto r : legend) legend_width += 40 + 7.0 * static_cast<double>(compare::relation_name(r).size());
  const double title_width = 9.0 * 60;
  const double width = std::max({kLeft * 2 + (columns - 1) * kColumn + kBoxWidth, kLeft * 2 + legend_width, kLeft + title_width});
  const double height = kTop + (grid_top + grid_rows + 1) * kRow + 40;
  auto px = [&](std::size_t v) { return kLeft + depth[v] * kColumn; };
  auto py = [&](double row) { return kTop + row * kRow; };

  std::ostringstream os;
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height << "\" viewBox=\"0 0 "
     << width << " " << height << "\" font-family=\"DejaVu Sans, sans-serif\" font-size=\"11\">\n";
  os << "<title>modeldna lineage</title>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  os << "<text x=\"" << kLeft << "\" y=\"24\" font-size=\"16\" font-weight=\"bold\">Model lineage: "
     << counted(families.size(), "family", "families") << ", " << counted(tree.edges.size(), "edge", "edges") << ", "
     << counted(singletons.size(), "unrelated model", "unrelated models") << "</text>\n";
  // Legend.
  double lx = kLeft;
  for (auto r : legend) {
    const std::string name(compare::relation_name(r));
    os << "<line x1=\"" << lx << "\" y1=\"42\" x2=\"" << lx + 24 << "\" y2=\"42\" stroke=\"" << relation_colour(r)
       << "\" stroke-width=\"2.5\"/><text x=\"" << lx + 30 << "\" y=\"46\">" << escape_xml(name) << "</text>\n";
    lx += 40 + 7.0 * static_cast<double>(name.size());
  }
  for (const auto& e : tree.edges) {
    const double x1 = px(e.parent) + kBoxWidth, y1 = py(y[e.parent]), x2 = px(e.child), y2 = py(y[e.child]);
    const double mx = (x1 + x2) / 2;
    const std::string colour = relation_colour(e.relation);
    os << "<path d=\"M" << x1 << "," << y1 << " C" << mx << "," << y1 << " " << mx << "," << y2 << " " << x2 << "," << y2
       << "\" fill=\"none\" stroke=\"" << colour << "\" stroke-width=\"1.6\"><title>"
       << escape_xml(std::string(compare::relation_name(e.relation)) + (e.copied ? ", a copy, tested p = " : ", p = ") + compare::p_value_text(e.log10_p) + ", " + e.direction_reason)
       << "</title></path>\n";
    os << "<text x=\"" << x2 - 4 << "\" y=\"" << y2 - 3 << "\" text-anchor=\"end\" font-size=\"9\" fill=\"" << colour << "\">"
       << escape_xml(std::string(compare::relation_name(e.relation))) << "</text>\n";
    for (std::size_t d : e.also_from)
      os << "<path d=\"M" << px(d) + kBoxWidth << "," << py(y[d]) << " L" << x2 << "," << y2 << "\" fill=\"none\" stroke=\""
         << colour << "\" stroke-width=\"1\" stroke-dasharray=\"4 3\"><title>also layers from "
         << escape_xml(labels[d]) << "</title></path>\n";
  }
  auto box = [&](double x, double yy, const std::string& text, bool assembled) {
    os << "<rect x=\"" << x << "\" y=\"" << yy - kBoxHeight / 2 << "\" width=\"" << kBoxWidth << "\" height=\"" << kBoxHeight
       << "\" rx=\"3\" fill=\"" << (assembled ? "#fbe3d6" : "#eef3f8") << "\" stroke=\"#456\" stroke-width=\"0.8\"/>\n";
    std::string t = text.size() > 38 ? text.substr(0, 36) + "..." : text;
    os << "<text x=\"" << x + 5 << "\" y=\"" << yy + 4 << "\">" << escape_xml(t) << "<title>" << escape_xml(text)
       << "</title></text>\n";
  };
  for (std::size_t v = 0; v < n; ++v)
    if (!(f.edge_to[v] == nullptr && f.children[v].empty())) box(px(v), py(y[v]), labels[v], tree.assembled[v]);
  if (!singletons.empty()) {
    os << "<text x=\"" << kLeft << "\" y=\"" << py(grid_top - 0.8) << "\" font-weight=\"bold\">Unrelated to every other model ("
       << singletons.size() << ")</text>\n";
    for (std::size_t k = 0; k < singletons.size(); ++k)
      box(kLeft + static_cast<double>(k % static_cast<std::size_t>(columns)) * kColumn,
          py(grid_top + std::floor(static_cast<double>(k) / columns)), labels[singletons[k]], false);
  }
  os << "</svg>\n";
  return os.str();
}

}  // namespace modeldna::report
