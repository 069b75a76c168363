// ONNX, TFLite, TensorFlow.js and Keras read through open_store, against the
// values their generation script recorded (fixtures/gen_deployment_fixtures.py:
// python3-onnx, python3-h5py and flatbuffers' Builder wrote the files).
#include <filesystem>
#include <fstream>

#include "modeldna/core/error.h"
#include "modeldna/io/convert.h"
#include "modeldna/io/open_store.h"
#include "store_fixtures.h"
#include "test_support.h"

namespace modeldna::io {
namespace {

using testing::expect_values;
using testing::fixture;

const TensorInfo& at(const TensorStore& s, const std::string& name) {
  const TensorInfo* t = s.find(name);
  if (!t) throw std::runtime_error("no tensor " + name);
  return *t;
}

TEST(OnnxStore, InitializersTypedFieldsConstantsAndRoles) {
  const auto store = open_store(fixture("small.onnx"));
  EXPECT_EQ(store.format(), Format::ONNX);
  expect_values(store, "expected_small_onnx.json");
  EXPECT_EQ(at(store, "conv.weight").layout, Layout::OIHW);
  EXPECT_EQ(at(store, "conv.bias").role, Role::Bias);
  EXPECT_EQ(at(store, "bn.scale").role, Role::NormScale);
  EXPECT_EQ(at(store, "bn.var").role, Role::RunningStat);
  EXPECT_EQ(at(store, "gemm.weight").layout, Layout::OI);  // transB = 1
  EXPECT_EQ(at(store, "gemm.weight").dtype, DType::F16);
  EXPECT_EQ(at(store, "mm.weight").layout, Layout::IO);    // MatMul: [in, out]
  EXPECT_EQ(at(store, "embed.weight").role, Role::Embedding);
  EXPECT_EQ(at(store, "shape").role, Role::Constant);
  EXPECT_EQ(at(store, "ids").role, Role::Constant);
  EXPECT_EQ(store.metadata()["onnx.producer_name"], "gen_deployment_fixtures");
  EXPECT_EQ(store.metadata()["onnx.opsets"]["ai.onnx"], 13);
  EXPECT_EQ(store.metadata()["onnx.metadata"]["author"], "fixture");
  ASSERT_EQ(store.graph().size(), 7u);
  EXPECT_EQ(store.graph()[0].op, "Conv");
  EXPECT_EQ(store.graph()[0].inputs[1], "conv.weight");
  EXPECT_EQ(store.graph()[3].int_attributes.at("transB"), 1);
}

TEST(OnnxStore, ExternalDataInsideTheModelsFolder) {
  const auto store = open_store(fixture("onnx_external/model.onnx"));
  expect_values(store, "expected_onnx_external.json");
  EXPECT_EQ(store.files().size(), 2u);
  EXPECT_NE(at(store, "fc.weight").note.find("weights.data"), std::string::npos);
}

TEST(OnnxStore, SubgraphInitializersAndConstants) {
  const auto store = open_store(fixture("subgraph.onnx"));
  expect_values(store, "expected_subgraph_onnx.json");
  int nested = 0;
  for (const auto& n : store.graph()) nested += n.depth > 0;
  EXPECT_EQ(nested, 5);  // MatMul in each branch, three ops in the loop body
}

TEST(OnnxStore, QuantizedWeightsReadDequantizedAndKeepTheirCodes) {
  const auto store = open_store(fixture("quantized.onnx"));
  expect_values(store, "expected_quantized_onnx.json", 1e-6);
  const auto& w2 = at(store, "w2_q");
  ASSERT_TRUE(w2.quantization);
  EXPECT_EQ(w2.quantization->axis, 0);          // per channel
  EXPECT_EQ(w2.layout, Layout::OIHW);           // the Conv behind DequantizeLinear
  EXPECT_EQ(at(store, "w1_scale").role, Role::QuantParam);
  EXPECT_EQ(store.read_i64(at(store, "w1_q")).size(), 24u);  // the stored codes
}

TEST(TfliteStore, QuantizedFloat16SparseAndSubgraphs) {
  const auto store = open_store(fixture("model.tflite"));
  EXPECT_EQ(store.format(), Format::TFLite);
  expect_values(store, "expected_tflite.json", 1e-6);
  EXPECT_EQ(at(store, "conv/kernel").layout, Layout::OHWI);
  EXPECT_EQ(at(store, "dw/kernel_f16").layout, Layout::IHWO);   // behind DEQUANTIZE
  EXPECT_EQ(at(store, "dw/kernel_f16").role, Role::Weight);
  EXPECT_EQ(at(store, "fc/weights").quantization->axis, 0);
  EXPECT_EQ(at(store, "fc/weights").layout, Layout::OI);
  EXPECT_EQ(at(store, "reshape/shape").role, Role::Constant);
  EXPECT_NE(at(store, "sparse_blocks").note.find("densified"), std::string::npos);
  EXPECT_EQ(store.find("input"), nullptr);  // activations hold no data
}

TEST(TfliteStore, EmbeddedInABundleAtAnyOffset) {
  const auto offsets = read_json_file(fixture("bundle.json"));
  for (const char* which : {"first", "second"}) {
    OpenOptions o;
    o.offset = offsets[which][0].get<uint64_t>();
    o.length = offsets[which][1].get<uint64_t>();
    const auto store = open_store(fixture("bundle.bin"), o);
    expect_values(store, "expected_tflite.json", 1e-6);
  }
  EXPECT_THROW_MSG(open_store(fixture("bundle.bin")), FormatError, "not a model file modeldna can read");
  OpenOptions past;
  past.offset = 1 << 30;
  EXPECT_THROW_MSG(open_store(fixture("bundle.bin"), past), FormatError, "is past the end");
}

TEST(TfjsStore, GraphModelWithQuantizedWeightsAcrossShards) {
  const auto store = open_store(fixture("tfjs_graph/model.json"));
  EXPECT_EQ(store.format(), Format::TFJS);
  expect_values(store, "expected_tfjs_graph.json", 1e-6);
  EXPECT_EQ(at(store, "conv/kernel").layout, Layout::HWIO);
  EXPECT_EQ(at(store, "dw/kernel").layout, Layout::HWCM);
  EXPECT_EQ(at(store, "dense/weights").layout, Layout::IO);
  EXPECT_EQ(at(store, "dense/bias").role, Role::Bias);
  EXPECT_EQ(at(store, "reshape/shape").role, Role::Constant);
  EXPECT_NE(at(store, "dw/kernel").note.find("joined across shards"), std::string::npos);
  EXPECT_EQ(store.files().size(), 3u);
}

TEST(TfjsStore, LayersModelAndTheOlderManifestLayout) {
  const auto layers = open_store(fixture("tfjs_layers"));
  expect_values(layers, "expected_tfjs_layers.json");
  EXPECT_EQ(at(layers, "dense/kernel").layout, Layout::IO);
  ASSERT_EQ(layers.graph().size(), 3u);
  EXPECT_EQ(layers.graph()[0].op, "Conv2D");
  const auto old = open_store(fixture("tfjs_old/model-weights_manifest.json"));
  expect_values(old, "expected_tfjs_old.json", 1e-6);
  EXPECT_EQ(old.metadata()["tfjs.format"], "weights-manifest");
}

TEST(KerasStore, Keras2Hdf5ChunkedCompressedAndContiguous) {
  const auto store = open_store(fixture("keras2.h5"));
  EXPECT_EQ(store.format(), Format::Keras);
  expect_values(store, "expected_keras2.json");
  EXPECT_EQ(at(store, "conv2d/kernel:0").layout, Layout::HWIO);
  EXPECT_EQ(at(store, "depthwise_conv2d/depthwise_kernel:0").layout, Layout::HWCM);
  EXPECT_EQ(at(store, "dense/kernel:0").layout, Layout::IO);
  EXPECT_EQ(at(store, "batch_normalization/moving_mean:0").role, Role::RunningStat);
  EXPECT_EQ(store.metadata()["keras.keras_version"], "2.11.0");
  EXPECT_EQ(store.metadata()["keras.class_name"], "Sequential");
  ASSERT_EQ(store.graph().size(), 5u);  // layer order from layer_names
  EXPECT_EQ(store.graph()[0].name, "conv2d");
  EXPECT_EQ(store.graph()[0].op, "Conv2D");
}

TEST(KerasStore, LatestHdf5FormatAndKeras3Zip) {
  expect_values(open_store(fixture("keras_latest.h5")), "expected_keras_latest.json");
  const auto store = open_store(fixture("model.keras"));
  expect_values(store, "expected_keras3.json");
  EXPECT_EQ(at(store, "layers/conv2d/vars/0").layout, Layout::HWIO);
  EXPECT_EQ(at(store, "layers/conv2d/vars/1").role, Role::Bias);
  EXPECT_EQ(at(store, "layers/dense/vars/0").layout, Layout::IO);
  EXPECT_EQ(at(store, "optimizer/vars/0").role, Role::Optimizer);
  EXPECT_EQ(store.metadata()["keras.keras_version"], "3.3.3");
}

// Every format converts to safetensors with its values and tags intact.
TEST(Convert, EveryDeploymentFormatRoundTripsThroughSafetensors) {
  const std::string dir = modeldna::testing::fresh_temp_dir();
  for (const std::string name : {"small.onnx", "model.tflite", "tfjs_graph/model.json", "keras2.h5", "model.keras",
                                 "quantized.onnx"}) {
    SCOPED_TRACE(name);
    const auto source = open_store(fixture(name));
    const std::string out = dir + "/" + std::to_string(std::hash<std::string>{}(name)) + ".safetensors";
    convert_to_safetensors(source, out, ConvertDType::F32);
    const auto converted = open_store(out);
    ASSERT_EQ(converted.tensors().size(), source.tensors().size());
    for (const auto& t : source.tensors()) {
      const auto& c = at(converted, t.name);
      EXPECT_EQ(c.shape, t.shape) << t.name;
      EXPECT_EQ(c.layout, t.layout) << t.name;
      EXPECT_EQ(c.role, t.role) << t.name;
      if (is_real(t.dtype) || t.quantization) EXPECT_EQ(converted.read_f32(c), source.read_f32(t)) << t.name;
      else EXPECT_EQ(converted.read_i64(c), source.read_i64(t)) << t.name;
    }
  }
}

// A transposed convolution's weights, [out, in, H, W] canonically (out being
// its own output channels), stored the three ways the readers meet: TFLite's
// TRANSPOSE_CONV (OHWI), TensorFlow's Conv2DBackpropInput (HWOI) and ONNX's
// ConvTranspose (IOHW). Each canonical_axes must give the one shape back.
TEST(Layouts, TransposedConvolutionsShareOneCanonicalForm) {
  const std::vector<int64_t> canonical = {2, 3, 4, 5};  // out, in, H, W: all distinct
  const std::vector<std::pair<Layout, std::vector<int64_t>>> stored = {
      {Layout::OHWI, {2, 4, 5, 3}}, {Layout::HWOI, {4, 5, 2, 3}}, {Layout::IOHW, {3, 2, 4, 5}}};
  for (const auto& [layout, shape] : stored) {
    SCOPED_TRACE(std::string(layout_name(layout)));
    const auto axes = canonical_axes(layout, shape.size());
    ASSERT_EQ(axes.size(), 4u);
    std::vector<int64_t> permuted;
    for (int axis : axes) permuted.push_back(shape[static_cast<std::size_t>(axis)]);
    EXPECT_EQ(permuted, canonical);
  }
}

}  // namespace
}  // namespace modeldna::io
