#include "modeldna/report/svg_chart.h"

#include <cmath>
#include <limits>

#include "modeldna/core/json_file.h"
#include "test_support.h"

namespace modeldna::report {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

void expect_ticks(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-9) << "tick " << i;
}

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// Structural sanity: one <svg> root, balanced groups, no non-finite numbers.
void expect_well_formed(const std::string& svg) {
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_NE(svg.find("viewBox=\""), std::string::npos);
  const std::string tail = svg.substr(svg.find_last_not_of(" \n") - 5, 6);
  EXPECT_EQ(tail, "</svg>");
  EXPECT_EQ(count(svg, "<svg"), 1u);
  EXPECT_EQ(count(svg, "<g>") + count(svg, "<g "), count(svg, "</g>"));
  EXPECT_EQ(count(svg, "<text"), count(svg, "</text>"));
  std::string lower = svg;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_EQ(lower.find("nan"), std::string::npos) << svg;
  EXPECT_EQ(lower.find("inf"), std::string::npos) << svg;
}

TEST(NiceTicks, HandCheckedRanges) {
  // [0,1]: raw step 1/5 = 0.2 -> 2 x 10^-1; 0 and 1 are multiples of it.
  expect_ticks(nice_ticks(0, 1), {0, 0.2, 0.4, 0.6, 0.8, 1});
  // [3,97]: raw 94/5 = 18.8 -> 2 x 10^1 = 20; floor(3/20)=0, ceil(97/20)=5 -> 0..100.
  expect_ticks(nice_ticks(3, 97), {0, 20, 40, 60, 80, 100});
  // [-0.37,0.52]: raw 0.178 -> 0.2; floor(-1.85)=-2, ceil(2.6)=3 -> -0.4..0.6, with an exact 0.
  expect_ticks(nice_ticks(-0.37, 0.52), {-0.4, -0.2, 0, 0.2, 0.4, 0.6});
  // [0,13]: raw 2.6 -> 5 (2.6 > 2); ceil(13/5)=3 -> 0,5,10,15.
  expect_ticks(nice_ticks(0, 13), {0, 5, 10, 15});
  // [1000,1001]: raw 0.2 -> 0.2 steps far from the origin.
  expect_ticks(nice_ticks(1000, 1001), {1000, 1000.2, 1000.4, 1000.6, 1000.8, 1001});
  // [0,0.007]: raw 0.0014 -> 1.4 x 10^-3 -> 2 x 10^-3; ceil(3.5)=4 -> 0..0.008.
  expect_ticks(nice_ticks(0, 0.007), {0, 0.002, 0.004, 0.006, 0.008});
}

TEST(NiceTicks, DegenerateRangesArePadded) {
  // 5 == 5 -> padded by 10% to [4.5,5.5]: raw 0.2 -> 4.4..5.6.
  expect_ticks(nice_ticks(5, 5), {4.4, 4.6, 4.8, 5, 5.2, 5.4, 5.6});
  // 0 == 0 -> [-1,1]: raw 0.4 -> 0.5.
  expect_ticks(nice_ticks(0, 0), {-1, -0.5, 0, 0.5, 1});
  expect_ticks(nice_ticks(kNaN, kNaN), {0, 0.2, 0.4, 0.6, 0.8, 1});  // nothing known -> [0,1]
  expect_ticks(nice_ticks(1, 0), {0, 0.2, 0.4, 0.6, 0.8, 1});        // reversed ends are swapped
}

TEST(SvgChart, EscapesAllText) {
  ChartOptions o;
  o.title = "AUC <&> \"quoted\" 'single'";
  o.x_label = "a<b";
  o.y_label = "c&d";
  const std::string svg = line_chart({{"fam <&>\"", "", {0, 1}, {0, 1}}}, o);
  expect_well_formed(svg);
  EXPECT_NE(svg.find("AUC &lt;&amp;&gt; &quot;quoted&quot; &apos;single&apos;"), std::string::npos);
  EXPECT_NE(svg.find("fam &lt;&amp;&gt;&quot;"), std::string::npos);
  EXPECT_NE(svg.find(">a&lt;b</text>"), std::string::npos);
  EXPECT_NE(svg.find(">c&amp;d</text>"), std::string::npos);
  EXPECT_EQ(svg.find("<&>"), std::string::npos);

  const std::string bars = bar_chart({{"g<1>", {{"b&", 1, 0, 0, ""}}}}, o);
  expect_well_formed(bars);
  EXPECT_NE(bars.find("g&lt;1&gt;"), std::string::npos);
  EXPECT_NE(bars.find(">b&amp;</text>"), std::string::npos);
}

TEST(SvgChart, NonFinitePointsAreSkipped) {
  const Series s{"s", "", {0, 1, 2, 3, kInf}, {0, kNaN, 2, 3, 4}};
  const std::string scatter = scatter_chart({s}, {});
  expect_well_formed(scatter);
  EXPECT_EQ(count(scatter, "<circle"), 3u + 1u);  // three finite points + the legend dot
  // The line breaks at the NaN: a lone dot at x=0, a polyline through x=2,3.
  const std::string line = line_chart({s}, {});
  expect_well_formed(line);
  EXPECT_EQ(count(line, "<polyline"), 1u);
  EXPECT_EQ(count(line, "<circle"), 1u);
  const std::string bars = bar_chart({{"g", {{"a", kNaN, 0, 0, ""}, {"b", 2, kNaN, kInf, ""}}}}, {});
  expect_well_formed(bars);
  EXPECT_EQ(count(bars, "<rect"), 1u + 1u + 2u + 1u);  // background, clip box, legend x2, one bar
}

TEST(SvgChart, WellFormedWithLegendAndTicks) {
  ChartOptions o;
  o.title = "ROC";
  o.x_label = "false positive rate";
  o.y_label = "true positive rate";
  o.x_min = 0, o.x_max = 1, o.y_min = 0, o.y_max = 1;
  o.diagonal = true;
  const std::string svg = line_chart({{"weights", "", {0, 0.1, 1}, {0, 0.8, 1}},
                                      {"activations", "#123456", {0, 0.3, 1}, {0, 0.6, 1}}},
                                     o);
  expect_well_formed(svg);
  for (const char* text : {">weights</text>", ">activations</text>", ">ROC</text>", ">false positive rate</text>",
                           ">0.2</text>", ">1.0</text>", "stroke-dasharray", "stroke=\"#123456\"",
                           "stroke=\"#0072B2\"", "fill=\"white\""})
    EXPECT_NE(svg.find(text), std::string::npos) << text;
  EXPECT_EQ(svg.find(">1.2</text>"), std::string::npos);  // the fixed range has no tick beyond 1
}

TEST(SvgChart, BarChartDrawsWhiskersValuesAndSharedColours) {
  ChartOptions o;
  o.title = "AUC by family";
  const std::string svg = bar_chart({{"mlp", {{"weights", 0.91, 0.05, 0.03, ""}, {"ours", 0.99, 0, 0, ""}}},
                                     {"cnn", {{"weights", 0.75, 0.1, 0.1, ""}, {"ours", 0.97, 0.01, 0.01, ""}}}},
                                    o);
  expect_well_formed(svg);
  EXPECT_NE(svg.find(">mlp</text>"), std::string::npos);
  EXPECT_NE(svg.find(">cnn</text>"), std::string::npos);
  EXPECT_NE(svg.find(">0.91</text>"), std::string::npos);
  EXPECT_EQ(count(svg, ">weights</text>"), 1u);  // one legend entry per label
  EXPECT_EQ(count(svg, "stroke=\"#222\""), 3u);   // whiskers only where an error is given
  // "weights" keeps the first palette colour in both groups (+ the legend swatch).
  EXPECT_EQ(count(svg, "fill=\"#0072B2\""), 3u);
  EXPECT_EQ(count(svg, "fill=\"#D55E00\""), 3u);
}

TEST(SvgChart, CrowdedLabelsAreThinnedOrTurned) {
  // 240px wide leaves a ~152px plot: 0.0002-steps put 6-character labels 38px apart (they
  // need 6 x 7 + 12 = 54px), so the x axis falls back to 0.0005-steps (76px apart).
  // Each axis keeps one decimal count: "0.0000", and "1.0" on the y axis.
  ChartOptions o;
  o.width = 240;
  const std::string svg = scatter_chart({{"s", "", {0.0001, 0.0007}, {1, 2}}}, o);
  expect_well_formed(svg);
  EXPECT_EQ(svg.find(">0.0002</text>"), std::string::npos);
  EXPECT_NE(svg.find(">0.0005</text>"), std::string::npos);
  EXPECT_NE(svg.find(">0.0000</text>"), std::string::npos);
  EXPECT_NE(svg.find(">1.0</text>"), std::string::npos);
  // 30 bars of ~15px: "0.8652"-wide value labels are drawn upright instead of overlapping.
  std::vector<BarGroup> groups(6);
  for (auto& g : groups)
    for (int j = 0; j < 5; ++j) g.bars.push_back({"m" + std::to_string(j), 0.5 + 0.0913 * j, 0, 0, ""});
  const std::string bars = bar_chart(groups, {});
  expect_well_formed(bars);
  EXPECT_EQ(count(bars, "rotate(-90 "), 30u);
  EXPECT_EQ(count(bar_chart({{"g", {{"a", 0.8652, 0, 0, ""}}}}, {}), "rotate(-90 "), 0u);
}

TEST(SvgChart, DegenerateInputsStayFinite) {
  ChartOptions o;
  expect_well_formed(line_chart({}, o));
  expect_well_formed(scatter_chart({{"empty", "", {}, {}}}, o));
  expect_well_formed(scatter_chart({{"one", "", {3}, {3}}}, o));
  expect_well_formed(line_chart({{"flat", "", {0, 1, 2}, {7, 7, 7}}}, o));
  expect_well_formed(line_chart({{"missing", "", {kNaN, kNaN}, {kNaN, 1}}}, o));
  expect_well_formed(bar_chart({}, o));
  expect_well_formed(bar_chart({{"zero", {{"z", 0, 0, 0, ""}}}}, o));
  o.x_min = 2, o.x_max = 2, o.y_min = 5;  // a zero-width fixed range and a lone fixed end
  expect_well_formed(scatter_chart({{"one", "", {3}, {3}}}, o));
  o.width = 0, o.height = -5;
  expect_well_formed(scatter_chart({{"one", "", {3}, {3}}}, o));
}

TEST(SvgChart, WriteSvgRoundTrips) {
  const std::string path = modeldna::testing::fresh_temp_dir() + "/chart.svg";
  const std::string svg = scatter_chart({{"s", "", {1, 2}, {3, 4}}}, {});
  write_svg(path, svg);
  EXPECT_EQ(read_file(path), svg);
}

}  // namespace
}  // namespace modeldna::report
