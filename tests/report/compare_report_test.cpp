// The evidence report: escaped, self-contained, and rendered by a real
// browser (headless Chromium, Debian's chromium) into a page that is not blank.
#include "modeldna/report/compare_report.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "modeldna/io/open_store.h"
#include "png_pixels.h"
#include "test_support.h"

namespace modeldna::report {
namespace {

std::string fixture(const std::string& name) { return std::string(MODELDNA_SOURCE_DIR) + "/tests/compare/fixtures/" + name; }

compare::CompareResult derived_pair() {
  return compare::compare_weights(io::open_store(fixture("parent.pt")), io::open_store(fixture("parent_q8_0.gguf")), {});
}

TEST(CompareReport, IsSelfContainedAndEscapesEverythingFromTheFiles) {
  auto r = derived_pair();
  r.layers[0].target = "<script>alert('x')</script>";
  r.notes.push_back("a note with <b>markup</b> & ampersands");
  const std::string html = compare_report_html(r, 0.01);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("&lt;b&gt;markup&lt;/b&gt; &amp; ampersands"), std::string::npos);
  // Nothing fetched: no URL but the SVG namespace name, no link or import.
  std::string scan = html;
  for (std::size_t at; (at = scan.find("xmlns=\"http://www.w3.org/2000/svg\"")) != std::string::npos;) scan.erase(at, 34);
  for (std::size_t at; (at = scan.find("url(#")) != std::string::npos;) scan.erase(at, 5);  // in-document references
  for (const char* external : {"http://", "https://", "src=\"", "<link", "@import", "url("})
    EXPECT_EQ(scan.find(external), std::string::npos) << external;
  EXPECT_NE(html.find("Verdict: derived"), std::string::npos);
  EXPECT_NE(html.find("<svg"), std::string::npos);  // the layer map and the null figure
  EXPECT_NE(html.find("quantized"), std::string::npos);
}

using modeldna::testing::run_shell;

TEST(CompareReport, RendersInHeadlessChromium) {
  if (run_shell("command -v chromium").status != 0) MODELDNA_MISSING("chromium");
  const std::string dir = modeldna::testing::fresh_temp_dir();
  const std::string html = dir + "/report.html", png = dir + "/report.png";
  write_compare_report(html, derived_pair(), 0.01);
  const auto run = run_shell("timeout 120 chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars "
                         "--no-first-run --disable-extensions --user-data-dir=" + dir + "/profile "
                         "--enable-logging=stderr --v=0 --window-size=1280,1800 --screenshot=" + png + " file://" + html);
  ASSERT_EQ(run.status, 0) << run.output;
  // The page loads nothing and runs nothing: the browser must report no page
  // error (its D-Bus complaints in a container are not about the page).
  for (const char* problem : {"Uncaught", "ERR_FILE_NOT_FOUND", "Failed to load resource", "CONSOLE("})
    EXPECT_EQ(run.output.find(problem), std::string::npos) << problem << " in:\n" << run.output;
  const auto image = modeldna::testing::read_png(png);
  EXPECT_EQ(image.width, 1280u);
  // Not blank: plenty of non-white pixels (text, tables, the charts), and the
  // verdict banner's red at the top.
  std::size_t ink = 0, banner = 0;
  for (std::size_t i = 0; i + 2 < image.pixels.size(); i += image.channels) {
    const int r = image.pixels[i], g = image.pixels[i + 1], b = image.pixels[i + 2];
    ink += (r < 200 || g < 200 || b < 200);
    if (i < std::size_t(image.width) * image.channels * 120) banner += (r > 150 && g < 90 && b < 90);
  }
  const double total = double(image.width) * image.height;
  EXPECT_GT(static_cast<double>(ink) / total, 0.03) << "the page looks blank";
  EXPECT_GT(banner, 10000u) << "no verdict banner";
}

}  // namespace
}  // namespace modeldna::report
