// The canonical unit view undoes each format's layout.
#include "modeldna/compare/unit_rows.h"

#include <gtest/gtest.h>

#include <cstring>
#include <numeric>

namespace modeldna::compare {
namespace {

// A store holding one float32 tensor of `shape` in `layout`, values 0, 1, 2...
io::TensorStore one_tensor(const std::vector<int64_t>& shape, io::Layout layout, io::Role role = io::Role::Weight) {
  io::TensorStore store(io::Format::Safetensors, "memory");
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<float> values(static_cast<std::size_t>(n));
  std::iota(values.begin(), values.end(), 0.0f);
  std::vector<std::byte> bytes(values.size() * 4);
  std::memcpy(bytes.data(), values.data(), bytes.size());
  io::TensorInfo t;
  t.name = "w";
  t.shape = shape;
  t.layout = layout;
  t.role = role;
  t.blob = store.add_blob(io::owned_blob("memory", std::move(bytes)));
  t.size_bytes = static_cast<uint64_t>(n) * 4;
  store.add_tensor(t);
  return store;
}

// Canonical element (o, i, h, w) of an OIHW kernel with dims O=2, I=3, H=2, W=2.
float oihw(int o, int i, int h, int w, const std::vector<int64_t>& stored, const std::vector<int>& stored_of_canonical) {
  const int canonical[4] = {o, i, h, w};
  int index[4];
  for (int k = 0; k < 4; ++k) index[stored_of_canonical[k]] = canonical[k];
  return static_cast<float>(((index[0] * stored[1] + index[1]) * stored[2] + index[2]) * stored[3] + index[3]);
}

void expect_canonical(const std::vector<int64_t>& stored, io::Layout layout, const std::vector<int>& axes) {
  SCOPED_TRACE(std::string(io::layout_name(layout)));
  const auto store = one_tensor(stored, layout);
  const auto& t = store.tensors()[0];
  const auto shape = unit_shape(t);
  EXPECT_EQ(shape.dims, (std::vector<int64_t>{2, 3, 2, 2}));
  EXPECT_EQ(shape.units, 2);
  EXPECT_EQ(shape.inputs, 12);
  const auto values = read_units(store, t, shape, {0, 1}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  for (int o = 0; o < 2; ++o)
    for (int i = 0; i < 3; ++i)
      for (int h = 0; h < 2; ++h)
        for (int w = 0; w < 2; ++w)
          EXPECT_EQ(values[static_cast<std::size_t>(o * 12 + i * 4 + h * 2 + w)], oihw(o, i, h, w, stored, axes));
}

TEST(UnitRows, EveryKernelLayoutComesOutOIHW) {
  expect_canonical({2, 3, 2, 2}, io::Layout::OIHW, {0, 1, 2, 3});
  expect_canonical({2, 2, 2, 3}, io::Layout::OHWI, {0, 3, 1, 2});  // TFLite
  expect_canonical({2, 2, 3, 2}, io::Layout::HWIO, {3, 2, 0, 1});  // Keras / TF.js
}

TEST(UnitRows, DenseInOutIsTransposedAndEmbeddingsUseTheirHiddenAxis) {
  const auto io_store = one_tensor({3, 2}, io::Layout::IO);  // [in, out]
  const auto& t = io_store.tensors()[0];
  const auto shape = unit_shape(t);
  EXPECT_EQ(shape.units, 2);
  EXPECT_EQ(read_units(io_store, t, shape, {1}, {0, 1, 2}), (std::vector<float>{1, 3, 5}));
  const auto embedding = one_tensor({4, 3}, io::Layout::Unknown, io::Role::Embedding);  // [vocab, hidden]
  const auto eshape = unit_shape(embedding.tensors()[0]);
  EXPECT_EQ(eshape.units, 3);
  EXPECT_EQ(eshape.inputs, 4);
  EXPECT_EQ(read_units(embedding, embedding.tensors()[0], eshape, {2}, {0, 3}), (std::vector<float>{2, 11}));
}

TEST(UnitRows, SamplesAreSortedDistinctAndSeeded) {
  const auto a = sample_indices(1000, 50, 9), b = sample_indices(1000, 50, 9);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.size(), 50u);
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
  EXPECT_EQ(std::adjacent_find(a.begin(), a.end()), a.end());
  EXPECT_NE(sample_indices(1000, 50, 10), a);
  EXPECT_EQ(sample_indices(5, 50, 1), (std::vector<int64_t>{0, 1, 2, 3, 4}));
}

}  // namespace
}  // namespace modeldna::compare
