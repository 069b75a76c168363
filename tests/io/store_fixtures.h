// Shared by the format tests: fixture paths and a check that a store holds
// exactly the values a fixture's generation script recorded.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "modeldna/core/json_file.h"
#include "modeldna/io/tensor_store.h"

namespace modeldna::io::testing {

inline std::string fixture(const std::string& name) { return std::string(MODELDNA_SOURCE_DIR) + "/tests/io/fixtures/" + name; }

/// Every tensor of `expected_json` ({name: {shape, values}}) is in `store`
/// with that shape and those values: bit for bit (`tolerance` 0) or within
/// `tolerance` relative to the largest magnitude.
inline void expect_values(const TensorStore& store, const std::string& expected_json, double tolerance = 0,
                          const std::string& prefix = "") {
  const auto doc = read_json_file(fixture(expected_json));
  for (const auto& item : doc.items()) {
    SCOPED_TRACE(item.key());
    const TensorInfo* t = store.find(prefix + item.key());
    ASSERT_NE(t, nullptr) << "missing tensor " << prefix + item.key();
    EXPECT_EQ(t->shape, item.value()["shape"].get<std::vector<int64_t>>());
    const auto& values = item.value()["values"];
    ASSERT_EQ(static_cast<int64_t>(values.size()), t->numel());
    const bool integer = traits(t->dtype).kind != DTypeKind::Float && !is_block(t->dtype) && !t->quantization;
    if (integer) {
      const auto got = store.read_i64(*t);
      for (std::size_t i = 0; i < values.size(); ++i) EXPECT_EQ(got[i], values[i].get<int64_t>()) << "element " << i;
      continue;
    }
    const auto got = store.read_f32(*t);
    double scale = 0;
    for (const auto& v : values) scale = std::max(scale, std::abs(v.get<double>()));
    for (std::size_t i = 0; i < values.size(); ++i) {
      const double want = values[i].is_null() ? NAN : values[i].get<double>();
      if (std::isnan(want)) {
        EXPECT_TRUE(std::isnan(got[i])) << "element " << i;
      } else if (tolerance == 0) {
        EXPECT_EQ(got[i], static_cast<float>(want)) << "element " << i;
      } else {
        EXPECT_NEAR(got[i], want, tolerance * scale) << "element " << i;
      }
    }
  }
}

}  // namespace modeldna::io::testing
