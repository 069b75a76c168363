#include "modeldna/report/compare_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "modeldna/core/json_file.h"
#include "modeldna/report/svg_chart.h"

namespace modeldna::report {
namespace {

using compare::LayerVerdict;

constexpr double kLog10Cap = 50;  // bars taller than p = 1e-50 are drawn at the cap

std::string number(double v, const char* format = "%.3f") {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, v);
  return buffer;
}

std::string verdict_color(LayerVerdict v) {
  switch (v) {
    case LayerVerdict::FromSource: return "#009E73";
    case LayerVerdict::Modified: return "#E69F00";
    case LayerVerdict::New: return "#999999";
  }
  return "#999999";
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// The layer map: one bar per target tensor, coloured by its verdict, as tall
// as its evidence (-log10 p, capped).
std::string layer_map(const compare::CompareResult& r) {
  std::vector<BarGroup> groups;
  int index = 0;
  for (const auto& l : r.layers) {
    ++index;
    Bar bar;
    bar.label = std::string(compare::layer_verdict_name(l.verdict));
    bar.color = verdict_color(l.verdict);
    bar.value = l.source ? std::min(kLog10Cap, -l.log10_p) : 0;
    groups.push_back({std::to_string(index), {bar}});
  }
  ChartOptions o;
  o.title = "Layer map: evidence per target tensor (from source / modified / new)";
  o.x_label = "target tensor (numbered as in the table below)";
  o.y_label = "-log10 p (capped at 50)";
  o.width = std::max(720, 24 * static_cast<int>(groups.size()) + 200);
  o.y_min = 0;
  return bar_chart(groups, o);
}

// The observed statistics against their null: the standard normal the
// combinatorial CLT gives every layer's z under independence.
std::string null_figure(const compare::CompareResult& r) {
  std::vector<Series> series;
  Series density{"null: N(0, 1)", "#555555", {}, {}};
  std::vector<const compare::LayerResult*> tested;
  for (const auto& l : r.layers)
    if (l.source) tested.push_back(&l);
  std::sort(tested.begin(), tested.end(), [](auto* a, auto* b) { return a->z > b->z; });
  const double top = tested.empty() ? 4 : std::clamp(tested.front()->z, 4.0, 60.0);
  for (double z = -4; z <= top + 1e-9; z += (top + 4) / 400) {
    density.x.push_back(z);
    density.y.push_back(std::exp(-z * z / 2) / std::sqrt(2 * M_PI));
  }
  series.push_back(density);
  for (std::size_t i = 0; i < tested.size() && i < 6; ++i) {
    const double z = std::min(tested[i]->z, top);
    series.push_back({tested[i]->target + (tested[i]->z > top ? " (z " + number(tested[i]->z, "%.0f") + ")" : ""), "",
                      {z, z}, {0, 0.42}});
  }
  ChartOptions o;
  o.title = "Observed z of the most significant layers against the null";
  o.x_label = "z = (S - E[S]) / sd(S)";
  o.y_label = "density under independence";
  o.y_min = 0;
  o.y_max = 0.45;
  return line_chart(series, o);
}

}  // namespace

std::string compare_report_html(const compare::CompareResult& r, double alpha) {
  std::ostringstream h;
  auto e = [](const std::string& s) { return escape_xml(s); };
  const std::string verdict(compare::verdict_name(r.verdict));
  const std::string banner = r.verdict == compare::Verdict::Derived      ? "#c0392b"
                             : r.verdict == compare::Verdict::Independent ? "#27ae60"
                                                                          : "#7f8c8d";
  h << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>modeldna compare: " << e(verdict)
    << "</title>\n<style>\n"
       "body{font-family:Helvetica,Arial,sans-serif;margin:24px;color:#222;max-width:1200px}\n"
       "h1{font-size:22px;margin:0}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}\n"
       ".verdict{color:#fff;padding:14px 18px;border-radius:6px}\n"
       "table{border-collapse:collapse;font-size:12px;width:100%}td,th{border:1px solid #ddd;padding:3px 6px;text-align:left}\n"
       "th{background:#f4f4f4}.num{text-align:right;font-family:monospace}.tag{padding:1px 6px;border-radius:3px;color:#fff}\n"
       "code{font-size:12px;word-break:break-all}.small{color:#666;font-size:12px}\n</style></head><body>\n";
  h << "<div class=\"verdict\" style=\"background:" << banner << "\"><h1>Verdict: " << e(verdict) << "</h1>"
    << "<p>p-value of &ldquo;the target was trained independently of the source&rdquo;: <b>" << e(compare::p_value_text(r.log10_p))
    << "</b> (level &alpha; = " << number(alpha, "%g") << "). Relation: <b>" << e(std::string(compare::relation_name(r.relation)))
    << "</b>. Decided by: " << e(std::string(compare::decided_by_name(r.decided_by))) << ".</p></div>\n";
  h << "<h2>Files</h2><table><tr><th></th><th>path</th><th>format</th></tr>"
    << "<tr><td>source</td><td><code>" << e(r.source_path) << "</code></td><td>" << e(r.source_format) << "</td></tr>"
    << "<tr><td>target</td><td><code>" << e(r.target_path) << "</code></td><td>" << e(r.target_format) << "</td></tr></table>\n";
  h << "<h2>How the p-value was computed</h2><p>White-box: " << r.tested_layers << " target tensors tested against their matched "
    << "source tensors; each test's p-value comes from the permutation distribution of the matched-unit statistic "
    << "(exact by Monte Carlo for few units, Hoeffding's combinatorial central limit theorem otherwise). Combined p = "
    << e(compare::p_value_text(r.log10_p_white_box)) << ": " << e(r.combination) << ".</p>\n";
  h << "<h2>Layer map</h2>\n" << layer_map(r) << "\n";
  h << "<h2>Statistic against its null</h2>\n" << null_figure(r) << "\n";
  h << "<h2>Matched tensors</h2><table><tr><th>#</th><th>target tensor</th><th>shape (layout)</th><th>source tensor</th>"
       "<th>shape (layout)</th><th>matched by</th><th>similarity</th><th>chance</th><th>z</th><th>p</th><th>relative change</th>"
       "<th>verdict</th></tr>\n";
  int index = 0;
  for (const auto& l : r.layers) {
    ++index;
    h << "<tr><td class=\"num\">" << index << "</td><td><code>" << e(l.target) << "</code></td><td>" << e(shape_text(l.target_shape))
      << " " << e(l.target_layout) << "</td>";
    if (l.source) {
      h << "<td><code>" << e(*l.source) << "</code></td><td>" << e(shape_text(l.source_shape)) << " " << e(l.source_layout)
        << "</td><td>" << e(std::string(compare::paired_by_name(l.matched_by))) << (l.undone.empty() ? "" : "; undone: " + e(compare::undone_list(l.undone))) << "</td><td class=\"num\">"
        << number(l.similarity) << "</td><td class=\"num\">" << number(l.null_similarity) << "</td><td class=\"num\">"
        << number(l.z, "%.1f") << "</td><td class=\"num\">" << e(compare::p_value_text(l.log10_p)) << "</td><td class=\"num\">"
        << number(l.relative_difference, "%.4f") << "</td>";
    } else {
      h << "<td colspan=\"8\">no source tensor of this canonical shape</td>";
    }
    h << "<td><span class=\"tag\" style=\"background:" << verdict_color(l.verdict) << "\">"
      << e(std::string(compare::layer_verdict_name(l.verdict))) << "</span></td></tr>\n";
  }
  h << "</table>\n<h2>Left out of the test</h2><p class=\"small\">Constants are not evidence: fixed tensors two independent "
       "models can share (bases, tables, indices) and values that are not learned weights.</p><table><tr><th>model</th>"
       "<th>tensor</th><th>reason</th><th>detail</th></tr>\n";
  for (const auto& x : r.excluded)
    h << "<tr><td>" << e(x.model) << "</td><td><code>" << e(x.name) << "</code></td><td>"
      << e(std::string(compare::exclusion_name(x.reason))) << "</td><td>" << e(x.detail) << "</td></tr>\n";
  h << "</table>\n<h2>Behavioural (black-box) evidence</h2>\n";
  if (!r.black_box.available) {
    h << "<p>Not used: " << e(r.black_box.reason) << ".</p>\n";
  } else {
    h << "<p>Behavioural similarity " << number(r.black_box.score, "%.4f") << "; p-value "
      << (r.black_box.log10_p ? e(compare::p_value_text(*r.black_box.log10_p)) : std::string("none")) << " (" << e(r.black_box.calibration)
      << ").</p><table><tr><th>signal</th><th>value</th></tr>\n";
    for (const auto& item : r.black_box.signals.items())
      h << "<tr><td>" << e(item.key()) << "</td><td><code>"
        << e(item.value().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).substr(0, 300)) << "</code></td></tr>\n";
    h << "</table>\n";
  }
  if (!r.notes.empty()) {
    h << "<h2>Notes</h2><ul>\n";
    for (const auto& n : r.notes) h << "<li>" << e(n.get<std::string>()) << "</li>\n";
    h << "</ul>\n";
  }
  h << "<p class=\"small\">modeldna compare, report format " << compare::kCompareFormatVersion << ". Timings (ms): "
    << e(r.timings.dump()) << "</p>\n</body></html>\n";
  return h.str();
}

void write_compare_report(const std::string& path, const compare::CompareResult& result, double alpha) {
  write_file_atomically(path, compare_report_html(result, alpha));
}

}  // namespace modeldna::report
