// Real published model files from npm packages (scripts/setup.sh fetches and
// unpacks them; nothing in them is run): tensor and parameter counts against
// what each format's own tooling reports (fixtures/real_file_counts.py, run
// with python3-onnx, python3-flatbuffers and the manifests' JSON).
#include "modeldna/io/convert.h"
#include "modeldna/io/open_store.h"
#include "test_support.h"

namespace modeldna::io {
namespace {

struct Expected {
  const char* package;
  const char* file;
  Format format;
  int64_t tensors;
  int64_t parameters;
};

// Printed by: /usr/bin/python3 tests/io/fixtures/real_file_counts.py data/npm
const Expected kFiles[] = {
    {"vad-web", "dist/silero_vad_v5.onnx", Format::ONNX, 341, 545286},
    {"vad-web", "dist/silero_vad_v6.onnx", Format::ONNX, 341, 545286},
    {"vad-web", "dist/silero_vad_legacy.onnx", Format::ONNX, 259, 444944},
    {"selfie_segmentation", "selfie_segmentation.tflite", Format::TFLite, 113, 106401},
    {"selfie_segmentation", "selfie_segmentation_landscape.tflite", Format::TFLite, 123, 106401},
    {"face-api", "model/tiny_face_detector_model-weights_manifest.json", Format::TFJS, 19, 193321},
    {"face-api", "model/face_expression_model-weights_manifest.json", Format::TFJS, 49, 323687},
    {"human", "models/blazeface.json", Format::TFJS, 112, 134704},
    {"human", "models/faceres.json", Format::TFJS, 128, 3489403},
    {"human", "models/handtrack.json", Format::TFJS, 619, 2960393},
};

class RealFiles : public ::testing::TestWithParam<Expected> {};

TEST_P(RealFiles, CountsMatchTheFormatsOwnTooling) {
  const Expected& e = GetParam();
  const std::string package = modeldna::testing::npm_package(e.package);
  if (package.empty()) MODELDNA_MISSING("npm package " << e.package);
  const auto store = open_store(package + "/" + e.file);
  EXPECT_EQ(store.format(), e.format);
  const auto summary = summarize(store);
  EXPECT_EQ(summary.tensors, e.tensors);
  EXPECT_EQ(summary.parameters, e.parameters);
  // Every value reads, and every float is finite.
  for (const auto& t : store.tensors()) {
    if (!is_real(t.dtype) && !t.quantization) continue;
    for (float v : store.read_f32(t)) ASSERT_TRUE(std::isfinite(v)) << t.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Npm, RealFiles, ::testing::ValuesIn(kFiles), [](const auto& p) {
  std::string name = std::string(p.param.package) + "_" + p.param.file;
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
});

}  // namespace
}  // namespace modeldna::io
