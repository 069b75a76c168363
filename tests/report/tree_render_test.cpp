// The family tree's renderings on a hand-made forest: JSON and text say the
// same edges, names from files are escaped in DOT and SVG, and the SVG
// renders in a real browser (headless Chromium) into a picture that is not
// blank.
#include "modeldna/report/tree_render.h"

#include <gtest/gtest.h>

#include "png_pixels.h"
#include "test_support.h"

namespace modeldna::report {
namespace {

// base <- fine-tune <- its quantized copy; a stranger on its own.
lineage::Tree small_forest() {
  lineage::Tree t;
  t.edges.push_back({0, 1, -40, 0.9, compare::Relation::FineTuned, 0.3, "kurtosis", {}});
  t.edges.push_back({1, 2, -120, 0.99, compare::Relation::Quantized, 1, "the second is quantized", {}});
  t.roots = {0, 3};
  t.assembled = {false, false, false, false};
  t.comparisons = 6;
  t.log10_edge_level = -2.8;
  return t;
}

const std::vector<std::string> kPaths = {"/m/base.safetensors", "/m/ft.safetensors", "/m/ft-q8.gguf",
                                         "/m/<b>&\"odd\".onnx"};

TEST(TreeRender, JsonAndTextCarryEveryEdge) {
  const auto j = tree_json(small_forest(), kPaths);
  ASSERT_EQ(j["edges"].size(), 2u);
  EXPECT_EQ(j["edges"][0]["parent"], "/m/base.safetensors");
  EXPECT_EQ(j["edges"][0]["child"], "/m/ft.safetensors");
  EXPECT_EQ(j["edges"][1]["relation"], "quantized");
  EXPECT_DOUBLE_EQ(j["edges"][0]["p_value"].get<double>(), 1e-40);
  EXPECT_EQ(j["roots"], nlohmann::json::array({"/m/base.safetensors", "/m/<b>&\"odd\".onnx"}));
  const auto text = tree_text(small_forest(), kPaths);
  EXPECT_NE(text.find("  <- ft"), std::string::npos) << text;
  EXPECT_NE(text.find("    <- ft-q8"), std::string::npos) << text;
}

TEST(TreeRender, AmbiguousNamesGetTheShortestDistinguishingPath) {
  EXPECT_EQ(model_labels({"/npm/face/model.json", "/npm/hand/model.json", "/npm/a/x/model.json", "/npm/b/x/model.json",
                          "/npm/face/other.onnx"}),
            (std::vector<std::string>{"face/model", "hand/model", "a/x/model", "b/x/model", "other"}));
  // The same path twice cannot be told apart: the whole path, not a loop.
  EXPECT_EQ(model_labels({"/m/a.onnx", "/m/a.onnx"}), (std::vector<std::string>{"m/a", "m/a"}));
  EXPECT_EQ(model_labels({"a.onnx"}), (std::vector<std::string>{"a"}));
}

// Every box, label and legend entry fits inside the picture: the SVG's width
// covers the legend and, between columns, the longest edge label.
TEST(TreeRender, TheSvgIsWideEnoughForItsLegendAndEdgeLabels) {
  auto tree = small_forest();
  tree.edges[0].relation = compare::Relation::PartialOrNewHead;  // the longest relation name
  const auto svg = tree_svg(tree, kPaths);
  const auto width_at = svg.find("width=\"");
  ASSERT_NE(width_at, std::string::npos);
  const double width = std::stod(svg.substr(width_at + 7));
  // Six legend entries at 40 px + 7 px a character (the renderer's estimate).
  double legend = 20;
  for (const char* name : {"fine-tuned", "partially fine-tuned or new head", "quantized", "pruned", "layers transplanted",
                           "re-export/converted"})
    legend += 40 + 7.0 * static_cast<double>(std::string(name).size());
  EXPECT_GE(width, legend);
  // The edge label ends 4 px before the child's box and must start right of
  // the parent's box (230 px wide at x = 20).
  // (the legend names it first; the edge label is drawn after the legend)
  const auto label_at = svg.rfind(">partially fine-tuned or new head</text>");
  ASSERT_NE(label_at, std::string::npos);
  const auto x_at = svg.rfind("<text x=\"", label_at);
  ASSERT_NE(svg.find("text-anchor=\"end\"", x_at), std::string::npos);
  ASSERT_LT(svg.find("text-anchor=\"end\"", x_at), label_at) << "found the legend, not the edge label";
  const double label_end = std::stod(svg.substr(x_at + 9));
  EXPECT_GE(label_end - 5.5 * 32, 20 + 230) << "the label runs into the parent's box";
}

TEST(TreeRender, NamesFromFilesAreEscaped) {
  const auto dot = tree_dot(small_forest(), kPaths);
  EXPECT_EQ(dot.rfind("digraph lineage {", 0), 0u);
  EXPECT_NE(dot.find("\\\"odd\\\""), std::string::npos) << dot;
  const auto svg = tree_svg(small_forest(), kPaths);
  EXPECT_EQ(svg.find("<b>"), std::string::npos);
  EXPECT_NE(svg.find("&lt;b&gt;&amp;"), std::string::npos);
}

TEST(TreeRender, TheSvgRendersInABrowser) {
  if (testing::run_shell("command -v chromium").status != 0) MODELDNA_MISSING("chromium");
  const std::string dir = testing::fresh_temp_dir();
  const std::string svg = dir + "/tree.svg", png = dir + "/tree.png";
  testing::write_bytes(svg, tree_svg(small_forest(), kPaths));
  const auto run = testing::run_shell("timeout 120 chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --no-first-run "
                         "--disable-extensions --user-data-dir=" + dir + "/profile --window-size=900,500 --screenshot=" +
                         png + " file://" + svg);
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_EQ(run.output.find("error on line"), std::string::npos) << run.output;  // an XML error page
  const auto image = testing::read_png(png);
  std::size_t ink = 0, quantized_orange = 0;
  for (std::size_t i = 0; i + 2 < image.pixels.size(); i += image.channels) {
    const int r = image.pixels[i], g = image.pixels[i + 1], b = image.pixels[i + 2];
    ink += (r < 200 || g < 200 || b < 200);
    quantized_orange += (r > 200 && g > 120 && g < 190 && b < 80);
  }
  EXPECT_GT(ink, 2000u) << "the picture looks blank";
  EXPECT_GT(quantized_orange, 20u) << "no quantized edge drawn";
}

}  // namespace
}  // namespace modeldna::report
