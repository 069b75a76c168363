// compare on the tiny zoo's recorded lineage: every model that keeps the
// source's weights is derived, every independent model of its architecture
// is not (the zoo's ground truth, manifest.json).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <set>

#include "modeldna/compare/compare.h"
#include "modeldna/io/open_store.h"
#include "modeldna/zoo/manifest.h"

namespace modeldna::compare {
namespace {

TEST(ZooCompare, RecordedLineageIsRecovered) {
  const char* dir = std::getenv("MODELDNA_TINY_ZOO");
  ASSERT_NE(dir, nullptr);
  const auto manifest = zoo::load_manifest(dir);
  const std::set<std::string> weight_preserving = {"finetune", "finetune-last-k", "pruned", "quantized",
                                                   "replace-last-k", "random-replace-3"};
  int derived = 0, independent = 0;
  for (const auto* source : manifest.sources()) {
    const auto s = io::open_store(std::string(dir) + "/" + source->file);
    for (const auto& m : manifest.models) {
      if (m.id == source->id || m.arch != source->arch) continue;
      const bool from_source = m.root == source->id && weight_preserving.count(std::string(zoo::relation_name(m.relation)));
      const bool unrelated = m.root != source->id;
      if (!from_source && !unrelated) continue;  // distilled students: no weight trace (docs/compare.md)
      SCOPED_TRACE(source->id + " -> " + m.id);
      const auto r = compare_weights(s, io::open_store(std::string(dir) + "/" + m.file), {});
      if (from_source) {
        EXPECT_EQ(r.verdict, Verdict::Derived);
        ++derived;
      } else {
        EXPECT_EQ(r.verdict, Verdict::Independent) << "p = " << r.p_value();
        ++independent;
      }
    }
  }
  EXPECT_GT(derived, 30);
  EXPECT_GT(independent, 40);
}

}  // namespace
}  // namespace modeldna::compare
