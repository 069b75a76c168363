#include "modeldna/report/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>
#include <utility>

#include "modeldna/core/json_file.h"

namespace modeldna::report {

std::string escape_xml(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:  // control characters other than tab/newline are not allowed in XML 1.0
        if (static_cast<unsigned char>(c) >= 0x20 || c == '\t' || c == '\n') out += c;
    }
  }
  return out;
}

namespace {

// Okabe-Ito (colour-blind safe), reordered so the pale yellow, weak on white, comes last.
const char* const kPalette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                "#E69F00", "#56B4E9", "#000000", "#F0E442"};
constexpr double kCharWidth = 7.0;  // rough advance of a 12px sans-serif glyph, for layout only

// Pixel coordinates: two decimals, trailing zeros dropped. Never "nan"/"inf".
std::string px(double v) {
  if (!std::isfinite(v)) return "0";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s == "-0" ? "0" : s;
}

// Value labels: 4 significant digits.
std::string num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return std::string(buf) == "-0" ? "0" : buf;
}

// Tick labels: as many decimals as the step needs ("0.0005", "15000", "0.4"),
// the same for every tick of an axis; %g only for extreme magnitudes.
std::string tick_label(double v, double step) {
  if (std::max(std::abs(v), step) >= 1e6 || step < 1e-4) return num(v);
  if (std::abs(v) < step * 1e-6) v = 0;
  const int decimals = std::max(0, static_cast<int>(std::ceil(-std::log10(step) - 1e-9)));
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// Cuts `s` to `max_chars` bytes plus an ellipsis, never inside a UTF-8 sequence.
std::string truncate(const std::string& s, size_t max_chars) {
  if (s.size() <= max_chars) return s;
  size_t n = max_chars > 1 ? max_chars - 1 : 0;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n) + "\u2026";
}

void line(std::ostream& os, double x1, double y1, double x2, double y2, const std::string& attrs = "") {
  os << "<line x1=\"" << px(x1) << "\" y1=\"" << px(y1) << "\" x2=\"" << px(x2) << "\" y2=\"" << px(y2) << '"'
     << (attrs.empty() ? "" : " ") << attrs << "/>\n";
}

// `content` must already be escaped.
void text(std::ostream& os, double x, double y, const std::string& content, const std::string& attrs = "") {
  os << "<text x=\"" << px(x) << "\" y=\"" << px(y) << '"' << (attrs.empty() ? "" : " ") << attrs << '>'
     << content << "</text>\n";
}

void circle(std::ostream& os, double x, double y, double r, const std::string& attrs) {
  os << "<circle cx=\"" << px(x) << "\" cy=\"" << px(y) << "\" r=\"" << px(r) << "\" " << attrs << "/>\n";
}

struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    if (!std::isfinite(v)) return;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
};

// Makes [lo, hi] finite and of positive width, so scaling never divides by zero.
void pad(double& lo, double& hi) {
  if (!std::isfinite(lo) && !std::isfinite(hi)) lo = 0, hi = 1;
  if (!std::isfinite(lo)) lo = hi - 1;
  if (!std::isfinite(hi)) hi = lo + 1;
  if (lo > hi) std::swap(lo, hi);
  if (hi > lo) return;
  const double d = lo == 0 ? 1 : std::abs(lo) * 0.1;
  lo -= d;
  hi += d;
}

struct Axis {
  double lo = 0, hi = 1, step = 1;
  std::vector<double> ticks;
};

// Unset ends are rounded out to the next tick, so the data sits inside the tick span,
// or further out by `margin` x span (room for labels) without adding a tick.
Axis make_axis(const Range& data, std::optional<double> fixed_lo, std::optional<double> fixed_hi, int target,
               double margin) {
  const bool has_lo = fixed_lo && std::isfinite(*fixed_lo), has_hi = fixed_hi && std::isfinite(*fixed_hi);
  double lo = has_lo ? *fixed_lo : data.lo, hi = has_hi ? *fixed_hi : data.hi;
  pad(lo, hi);
  const std::vector<double> all = nice_ticks(lo, hi, target);
  const double room = margin * (hi - lo);
  Axis a;
  a.step = all[1] - all[0];
  a.lo = has_lo ? lo : std::min(all.front(), lo < 0 ? lo - room : lo);
  a.hi = has_hi ? hi : std::max(all.back(), hi > 0 ? hi + room : hi);
  const double eps = (a.hi - a.lo) * 1e-9;
  for (double t : all)
    if (t >= a.lo - eps && t <= a.hi + eps) a.ticks.push_back(t);
  return a;
}

// Fewer ticks until neighbouring labels no longer collide on `pixels` of axis.
Axis fit_axis(const Range& data, std::optional<double> lo, std::optional<double> hi, double pixels,
              bool horizontal, double margin = 0) {
  for (int target = 5;; --target) {
    Axis a = make_axis(data, lo, hi, target, margin);
    size_t chars = 0;
    for (double t : a.ticks) chars = std::max(chars, tick_label(t, a.step).size());
    const double need = horizontal ? kCharWidth * static_cast<double>(chars) + 12 : 20;
    if (target == 1 || a.step / (a.hi - a.lo) * pixels >= need) return a;
  }
}

struct LegendItem {
  std::string label, color;
};
enum class Mark { kLine, kDot, kBox };

// The plot box in pixels plus the data-to-pixel maps.
struct Frame {
  int width = 0, height = 0;
  double left = 0, top = 0, right = 0, bottom = 0;
  Axis x, y;
  size_t legend_chars = 0;  // legend labels are cut to this many bytes
  double sx(double v) const { return left + (v - x.lo) / (x.hi - x.lo) * (right - left); }
  double sy(double v) const { return bottom - (v - y.lo) / (y.hi - y.lo) * (bottom - top); }
};

// Everything but the left margin, which place_y sets from the y tick labels.
Frame layout(const ChartOptions& o, const std::vector<LegendItem>& legend) {
  Frame f;
  f.width = std::max(o.width, 240);
  f.height = std::max(o.height, 180);
  f.top = o.title.empty() ? 20 : 46;
  f.bottom = f.height - (o.x_label.empty() ? 30 : 52);
  // The legend gets its own column at the right, so it never covers data.
  size_t chars = 0;
  for (const auto& item : legend) chars = std::max(chars, item.label.size());
  const double legend_w = chars == 0 ? 0 : std::min(0.35 * f.width, 40 + kCharWidth * static_cast<double>(chars));
  f.legend_chars = static_cast<size_t>(std::max(4.0, (legend_w - 40) / kCharWidth));
  f.right = f.width - (legend_w > 0 ? legend_w + 8 : 26);
  f.left = 60;
  return f;
}

void place_y(Frame& f, Axis y, const ChartOptions& o) {
  size_t chars = 1;
  for (double t : y.ticks) chars = std::max(chars, tick_label(t, y.step).size());
  f.left = 12 + (o.y_label.empty() ? 0 : 22) + kCharWidth * static_cast<double>(chars);
  f.y = std::move(y);
}

// Document header, title, grid, ticks and axis titles; leaves the clipped data group open.
void begin(std::ostringstream& os, const Frame& f, const ChartOptions& o, bool x_ticks) {
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" << f.width << "\" height=\""
     << f.height << "\" viewBox=\"0 0 " << f.width << ' ' << f.height
     << "\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n";
  if (!o.title.empty()) os << "<title>" << escape_xml(o.title) << "</title>\n";
  os << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  // The clip box is a little larger than the plot, so curves on the border stay whole.
  os << "<defs><clipPath id=\"plot-area\"><rect x=\"" << px(f.left - 5) << "\" y=\"" << px(f.top - 5)
     << "\" width=\"" << px(f.right - f.left + 10) << "\" height=\"" << px(f.bottom - f.top + 10)
     << "\"/></clipPath></defs>\n";
  if (!o.title.empty())
    text(os, f.width / 2.0, 28, escape_xml(o.title), "text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\"");
  os << "<g stroke=\"#e3e3e3\">\n";
  for (double t : f.y.ticks) line(os, f.left, f.sy(t), f.right, f.sy(t));
  if (x_ticks)
    for (double t : f.x.ticks) line(os, f.sx(t), f.top, f.sx(t), f.bottom);
  os << "</g>\n<g fill=\"#333\">\n";
  for (double t : f.y.ticks) text(os, f.left - 6, f.sy(t) + 4, tick_label(t, f.y.step), "text-anchor=\"end\"");
  if (x_ticks)
    for (double t : f.x.ticks)
      text(os, f.sx(t), f.bottom + 18, tick_label(t, f.x.step), "text-anchor=\"middle\"");
  os << "</g>\n";
  if (!o.x_label.empty())
    text(os, (f.left + f.right) / 2, f.height - 12.0, escape_xml(o.x_label), "text-anchor=\"middle\" font-size=\"13\"");
  const double cy = (f.top + f.bottom) / 2;
  if (!o.y_label.empty())
    text(os, 18, cy, escape_xml(o.y_label),
         "text-anchor=\"middle\" font-size=\"13\" transform=\"rotate(-90 18 " + px(cy) + ")\"");
  os << "<path d=\"M" << px(f.left) << ' ' << px(f.top) << "V" << px(f.bottom) << "H" << px(f.right)
     << "\" fill=\"none\" stroke=\"#333\"/>\n<g clip-path=\"url(#plot-area)\">\n";
}

// Closes the open group, draws the legend column and closes the document.
std::string end(std::ostringstream& os, const Frame& f, const std::vector<LegendItem>& legend, Mark mark) {
  os << "</g>\n";
  if (!legend.empty()) {
    os << "<g>\n";
    const double x = f.right + 18;
    double y = f.top + 8;
    for (const auto& item : legend) {
      const std::string c = escape_xml(item.color);
      if (mark == Mark::kLine)
        line(os, x, y, x + 20, y, "stroke=\"" + c + "\" stroke-width=\"2.5\"");
      else if (mark == Mark::kDot)
        circle(os, x + 10, y, 4.5, "fill=\"" + c + '"');
      else
        os << "<rect x=\"" << px(x + 3) << "\" y=\"" << px(y - 6) << "\" width=\"14\" height=\"12\" fill=\"" << c
           << "\"/>\n";
      text(os, x + 26, y + 4, escape_xml(truncate(item.label, f.legend_chars)));
      y += 20;
    }
    os << "</g>\n";
  }
  os << "</svg>\n";
  return os.str();
}

std::string color_at(const std::string& color, size_t index) {
  return color.empty() ? kPalette[index % (sizeof kPalette / sizeof *kPalette)] : color;
}

// Line and scatter charts: the axes come from the finite points only.
std::string series_chart(const std::vector<Series>& series, const ChartOptions& o, Mark mark) {
  std::vector<LegendItem> legend;
  Range xr, yr;
  for (size_t s = 0; s < series.size(); ++s) {
    const auto& sr = series[s];
    for (size_t i = 0; i < std::min(sr.x.size(), sr.y.size()); ++i)
      if (std::isfinite(sr.x[i]) && std::isfinite(sr.y[i])) xr.add(sr.x[i]), yr.add(sr.y[i]);
    if (!sr.label.empty()) legend.push_back({sr.label, color_at(sr.color, s)});
  }
  Frame f = layout(o, legend);
  place_y(f, fit_axis(yr, o.y_min, o.y_max, f.bottom - f.top, false), o);
  f.x = fit_axis(xr, o.x_min, o.x_max, f.right - f.left, true);
  std::ostringstream os;
  begin(os, f, o, true);
  const double d0 = std::max(f.x.lo, f.y.lo), d1 = std::min(f.x.hi, f.y.hi);
  if (o.diagonal && d0 < d1)  // y = x, where both axes cover it
    line(os, f.sx(d0), f.sy(d0), f.sx(d1), f.sy(d1), "stroke=\"#888\" stroke-dasharray=\"5,4\"");
  for (size_t s = 0; s < series.size(); ++s) {
    const auto& sr = series[s];
    const std::string c = escape_xml(color_at(sr.color, s));
    std::vector<std::pair<double, double>> run;  // finite points since the last break
    // A non-finite point breaks a line; a lone point becomes a dot so it stays visible.
    auto flush = [&] {
      if (run.size() == 1 || mark == Mark::kDot)
        for (const auto& [x, y] : run) circle(os, f.sx(x), f.sy(y), mark == Mark::kDot ? 4 : 3, "fill=\"" + c + "\"");
      if (run.size() > 1 && mark == Mark::kLine) {
        os << "<polyline fill=\"none\" stroke=\"" << c << "\" stroke-width=\"2\" stroke-linejoin=\"round\" points=\"";
        for (size_t i = 0; i < run.size(); ++i)
          os << (i ? " " : "") << px(f.sx(run[i].first)) << ',' << px(f.sy(run[i].second));
        os << "\"/>\n";
      }
      run.clear();
    };
    if (mark == Mark::kDot) os << "<g fill-opacity=\"0.75\">\n";
    for (size_t i = 0; i < std::min(sr.x.size(), sr.y.size()); ++i) {
      if (std::isfinite(sr.x[i]) && std::isfinite(sr.y[i]))
        run.emplace_back(sr.x[i], sr.y[i]);
      else
        flush();
    }
    flush();
    if (mark == Mark::kDot) os << "</g>\n";
  }
  return end(os, f, legend, mark);
}

double error_or_zero(double e) { return std::isfinite(e) ? std::max(e, 0.0) : 0.0; }

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target) {
  pad(lo, hi);
  const double raw = (hi - lo) / std::max(target, 1);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;  // in [1, 10); the tolerance absorbs rounding in raw / mag
  const double step = mag * (f <= 1 + 1e-9 ? 1 : f <= 2 + 1e-9 ? 2 : f <= 5 + 1e-9 ? 5 : 10);
  const double first = std::floor(lo / step + 1e-9), last = std::ceil(hi / step - 1e-9);
  std::vector<double> ticks;
  for (double k = first; k <= last + 0.5; ++k) {
    const double t = k * step;
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);  // no "-0" or 1e-17 at the origin
  }
  return ticks;
}

std::string line_chart(const std::vector<Series>& series, const ChartOptions& options) {
  return series_chart(series, options, Mark::kLine);
}

std::string scatter_chart(const std::vector<Series>& series, const ChartOptions& options) {
  return series_chart(series, options, Mark::kDot);
}

std::string bar_chart(const std::vector<BarGroup>& groups, const ChartOptions& options) {
  // One colour per distinct bar label, in order of first appearance.
  std::vector<LegendItem> keys;
  auto key_of = [&](const std::string& label) {
    return std::find_if(keys.begin(), keys.end(), [&](const LegendItem& k) { return k.label == label; });
  };
  Range yr;
  yr.add(0);  // bars grow from zero
  size_t per_group = 1, value_chars = 1;
  for (const auto& g : groups) {
    per_group = std::max(per_group, g.bars.size());
    for (const auto& b : g.bars) {
      if (key_of(b.label) == keys.end()) keys.push_back({b.label, color_at(b.color, keys.size())});
      if (!std::isfinite(b.value)) continue;
      yr.add(b.value - error_or_zero(b.error_low));
      yr.add(b.value + error_or_zero(b.error_high));
      value_chars = std::max(value_chars, num(b.value).size());
    }
  }
  std::vector<LegendItem> legend;
  for (const auto& k : keys)
    if (!k.label.empty()) legend.push_back(k);
  Frame f = layout(options, legend);
  const double n_groups = static_cast<double>(std::max<size_t>(groups.size(), 1));
  auto bar_width = [&] { return 0.8 * (f.right - f.left) / n_groups / static_cast<double>(per_group); };
  place_y(f, fit_axis(yr, options.y_min, options.y_max, f.bottom - f.top, false, 0.08), options);
  // Value labels wider than a bar are turned upright; the axis then needs more room past the bars.
  const double label_px = 6.0 * static_cast<double>(value_chars);
  const bool upright = label_px > bar_width() - 2;
  if (upright) {
    const double p = std::min(0.5, (label_px + 10) / (f.bottom - f.top));  // share of the height for labels
    place_y(f, fit_axis(yr, options.y_min, options.y_max, f.bottom - f.top, false, p / (1 - p)), options);
  }
  f.x.hi = n_groups;
  const double slot = (f.right - f.left) / n_groups, bar_w = bar_width();
  const double base = f.sy(std::clamp(0.0, f.y.lo, f.y.hi));
  std::ostringstream os, labels;  // value and group labels go above the data, outside the clip
  begin(os, f, options, false);
  for (size_t gi = 0; gi < groups.size(); ++gi) {
    const auto& g = groups[gi];
    const double centre = f.left + slot * (static_cast<double>(gi) + 0.5);
    const double x0 = centre - bar_w * static_cast<double>(g.bars.size()) / 2;
    const auto label_chars = static_cast<size_t>(std::max(3.0, slot / kCharWidth));
    text(labels, centre, f.bottom + 18, escape_xml(truncate(g.label, label_chars)), "text-anchor=\"middle\"");
    for (size_t bi = 0; bi < g.bars.size(); ++bi) {
      const Bar& b = g.bars[bi];
      if (!std::isfinite(b.value)) continue;
      const double bx = x0 + bar_w * static_cast<double>(bi), mid = bx + bar_w / 2;
      const double top = f.sy(std::clamp(b.value, f.y.lo, f.y.hi));
      const std::string c = escape_xml(b.color.empty() ? key_of(b.label)->color : b.color);
      os << "<rect x=\"" << px(bx + 1) << "\" y=\"" << px(std::min(top, base)) << "\" width=\""
         << px(std::max(bar_w - 2, 1.0)) << "\" height=\"" << px(std::abs(base - top)) << "\" fill=\"" << c
         << "\"/>\n";
      const double el = error_or_zero(b.error_low), eh = error_or_zero(b.error_high);
      if (el > 0 || eh > 0) {
        const double y_lo = f.sy(b.value - el), y_hi = f.sy(b.value + eh), cap = std::min(bar_w * 0.25, 6.0);
        os << "<path d=\"M" << px(mid) << ' ' << px(y_lo) << "V" << px(y_hi) << "M" << px(mid - cap) << ' '
           << px(y_lo) << "H" << px(mid + cap) << "M" << px(mid - cap) << ' ' << px(y_hi) << "H"
           << px(mid + cap) << "\" stroke=\"#222\" stroke-width=\"1.2\" fill=\"none\"/>\n";
      }
      // The label sits beyond the whisker end: above positive bars, below negative ones.
      const bool up = b.value >= 0;
      const double end_y = std::clamp(up ? f.sy(b.value + eh) - 4 : f.sy(b.value - el) + 4, f.top - 10, f.bottom);
      if (upright)
        text(labels, mid + 3.5, end_y, num(b.value),
             std::string("font-size=\"10\" text-anchor=\"") + (up ? "start" : "end") + "\" transform=\"rotate(-90 " +
                 px(mid + 3.5) + ' ' + px(end_y) + ")\"");
      else
        text(labels, mid, up ? end_y : end_y + 8, num(b.value), "font-size=\"10\" text-anchor=\"middle\"");
    }
  }
  os << "</g>\n<g fill=\"#333\">\n" << labels.str();  // end() closes this group
  if (f.y.lo < 0 && f.y.hi > 0) line(os, f.left, base, f.right, base, "stroke=\"#333\"");  // bars go both ways
  return end(os, f, legend, Mark::kBox);
}

void write_svg(const std::string& path, const std::string& svg) { write_file_atomically(path, svg); }

}  // namespace modeldna::report
