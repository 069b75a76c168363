// File: modeldna/report/svg_chart.h
// A tiny, dependency-free SVG chart writer for the benchmark's figures
// (ROC curves, scatter plots, grouped bars). Each function returns a
// standalone SVG 1.1 document that opens in any browser. Torch-free.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace modeldna::report {

/// One line or point set. Non-finite points are skipped (a line is broken there).
struct Series {
  std::string label;  // legend text; "" = not listed in the legend
  std::string color;  // any SVG colour; "" = automatic (Okabe-Ito palette)
  std::vector<double> x, y;  // same length; extra values of the longer one are ignored
};

/// One bar. The errors are distances from `value` (whisker from value - error_low
/// to value + error_high); 0 for none. A non-finite value draws no bar.
struct Bar {
  std::string label;  // legend text; bars sharing a label share a colour
  double value = 0;
  double error_low = 0, error_high = 0;
  std::string color;  // "" = automatic, by the label's first appearance
};

/// Bars drawn side by side above one x-axis category (e.g. one architecture family).
struct BarGroup {
  std::string label;
  std::vector<Bar> bars;
};

struct ChartOptions {
  std::string title, x_label, y_label;
  int width = 720, height = 480;
  // Fixed axis ends; unset ends are chosen from the data, rounded out to a tick.
  std::optional<double> x_min, x_max, y_min, y_max;
  bool diagonal = false;  // dashed y = x reference line (chance level of a ROC curve)
};

/// Polylines (e.g. ROC curves), with a legend at the right. Tick labels share one
/// number of decimals per axis; ticks are thinned when their labels would collide.
std::string line_chart(const std::vector<Series>& series, const ChartOptions& options);

/// Circles, with a legend at the right.
std::string scatter_chart(const std::vector<Series>& series, const ChartOptions& options);

/// Grouped vertical bars with error whiskers and value labels (turned upright when
/// wider than a bar). Bars start at 0, which the y axis includes unless y_min/y_max
/// say otherwise; x_min/x_max are ignored. The legend lists the distinct bar labels.
std::string bar_chart(const std::vector<BarGroup>& groups, const ChartOptions& options);

/// "Nice" tick values (steps of 1, 2 or 5 x 10^k, about `target` intervals) from
/// a multiple of the step <= lo to one >= hi. A degenerate or non-finite range
/// is padded first, so the result always has at least two ticks.
std::vector<double> nice_ticks(double lo, double hi, int target = 5);

/// Text made safe inside XML and HTML (markup characters escaped, control
/// characters dropped): for anything that comes from a model file.
std::string escape_xml(const std::string& text);

/// Writes `svg` to `path` atomically (temporary file + rename).
void write_svg(const std::string& path, const std::string& svg);

}  // namespace modeldna::report
