#include "modeldna/nn/model_file.h"

#include <torch/torch.h>

#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "modeldna/core/error.h"
#include "modeldna/io/safetensors.h"
#include "modeldna/nn/compress.h"
#include "network_helpers.h"
#include "test_support.h"

namespace modeldna::nn {
namespace {

namespace fs = std::filesystem;

torch::Tensor inputs() {
  torch::manual_seed(42);
  return torch::randn({8, 1, 28, 28});
}

torch::Tensor logits(Network& net, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  net.eval();
  return net.forward(x);
}

// A safetensors file's tensors as owned bytes, to edit and write back.
struct Tensor {
  std::string name;
  io::DType dtype;
  std::vector<int64_t> shape;
  std::string bytes;
};

struct FileContents {
  std::vector<Tensor> tensors;
  std::map<std::string, std::string> metadata;

  Tensor& at(const std::string& name) {
    for (auto& t : tensors)
      if (t.name == name) return t;
    throw std::runtime_error("test bug: no tensor " + name);
  }
  void erase(const std::string& name) {
    for (auto it = tensors.begin(); it != tensors.end(); ++it)
      if (it->name == name) {
        tensors.erase(it);
        return;
      }
    throw std::runtime_error("test bug: no tensor " + name);
  }
};

FileContents read_contents(const std::string& path) {
  const auto file = io::SafetensorsFile::open(path);
  FileContents out;
  out.metadata = file.metadata();
  for (const auto& v : file.tensors())
    out.tensors.push_back({v.name, v.dtype, v.shape, std::string(reinterpret_cast<const char*>(v.data), v.size_bytes)});
  return out;
}

void write_contents(const std::string& path, const FileContents& contents) {
  std::vector<io::TensorToWrite> entries;
  for (const auto& t : contents.tensors) entries.push_back({t.name, t.dtype, t.shape, t.bytes.data(), t.bytes.size()});
  io::write_safetensors(path, entries, contents.metadata);
}

std::string float_bytes(const std::vector<float>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
}

// Saves a small mlp (fc1 [64, 784], fc2 [32, 64], fc3 [10, 32]) and returns its contents.
class BrokenModel : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::fresh_temp_dir();
    good_ = dir_ + "/good.safetensors";
    save_model(good_, *testing::seeded_network(testing::arch_config("mlp", 0.25), 1));
    contents_ = read_contents(good_);
  }

  // Writes the edited contents to <name> and returns its path.
  std::string write(const std::string& name) {
    const std::string path = dir_ + "/" + name;
    write_contents(path, contents_);
    return path;
  }

  std::string dir_, good_;
  FileContents contents_;
};

TEST(ModelFile, FloatRoundTripReproducesOutputsExactly) {
  const std::string dir = testing::fresh_temp_dir();
  const auto x = inputs();
  for (const auto& [arch, width] : std::vector<std::pair<std::string, double>>{
           {"mlp", 0.25}, {"lenet", 0.25}, {"alexnet", 0.125}, {"resnet18", 0.125}}) {
    SCOPED_TRACE(arch);
    auto net = testing::seeded_network(testing::arch_config(arch, width), 3);
    if (arch == "resnet18") {  // BatchNorm statistics are buffers and must travel too
      torch::NoGradGuard no_grad;
      for (auto& b : net->named_buffers())
        if (b.value().is_floating_point()) b.value().uniform_(0.5, 1.5);
    }
    const std::string path = dir + "/" + arch + ".safetensors";
    save_model(path, *net, {false, {{"modeldna.id", arch + "-x"}}});
    const auto loaded = load_model(path);
    EXPECT_EQ(loaded.network->config(), net->config());
    EXPECT_FALSE(loaded.network->is_training());
    EXPECT_EQ(loaded.metadata.at("modeldna.id"), arch + "-x");
    EXPECT_EQ(loaded.metadata.at(kModelFormatKey), kModelFormat);
    EXPECT_EQ(loaded.metadata.count(kQuantizationKey), 0u);
    EXPECT_TRUE(torch::equal(logits(*loaded.network, x), logits(*net, x)));
    const auto saved = net->named_buffers();
    for (const auto& b : loaded.network->named_buffers()) EXPECT_TRUE(torch::equal(b.value(), saved[b.key()])) << b.key();
  }
}

TEST(ModelFile, Int8RoundTripReproducesTheQuantizedNetworkExactly) {
  const std::string dir = testing::fresh_temp_dir();
  const auto x = inputs();
  for (const auto& [arch, width] : std::vector<std::pair<std::string, double>>{
           {"mlp", 0.25}, {"lenet", 0.5}, {"alexnet", 0.125}, {"resnet18", 0.125}}) {
    for (uint64_t seed : {1, 2, 3}) {
      SCOPED_TRACE(arch + " seed " + std::to_string(seed));
      auto net = testing::seeded_network(testing::arch_config(arch, width), seed);
      quantize_int8_per_tensor(*net);
      const std::string path = dir + "/" + arch + std::to_string(seed) + ".safetensors";
      SaveOptions options;
      options.int8_weights = true;
      save_model(path, *net, options);

      const auto file = io::SafetensorsFile::open(path);
      EXPECT_EQ(file.metadata().at(kQuantizationKey), kInt8PerTensor);
      for (const auto& p : net->named_parameters()) {
        const auto& view = file.at(p.key());
        EXPECT_EQ(view.dtype, p.value().dim() >= 2 ? io::DType::I8 : io::DType::F32) << p.key();
        EXPECT_EQ(file.find(p.key() + ".qscale") != nullptr, p.value().dim() >= 2) << p.key();
      }

      const auto loaded = load_model(path).network;
      const auto expected = net->named_parameters();
      for (const auto& p : loaded->named_parameters())
        EXPECT_TRUE(torch::equal(p.value(), expected[p.key()])) << p.key();
      EXPECT_TRUE(torch::equal(logits(*loaded, x), logits(*net, x)));
    }
  }
}

TEST(ModelFile, QuantizationKeepsAtMost255LevelsPerTensor) {
  auto net = testing::seeded_network(testing::arch_config("lenet", 0.25), 4);
  const auto before = clone_network(*net);
  quantize_int8_per_tensor(*net);
  const auto original = before->named_parameters();
  for (const auto& p : net->named_parameters()) {
    SCOPED_TRACE(p.key());
    if (p.value().dim() < 2) {
      EXPECT_TRUE(torch::equal(p.value(), original[p.key()]));  // biases stay float
      continue;
    }
    EXPECT_LE(std::get<0>(torch::_unique(p.value())).numel(), 255);
    const float step = original[p.key()].abs().max().item<float>() / 127.0f;
    EXPECT_LE((p.value() - original[p.key()]).abs().max().item<float>(), step * 0.5001f);
  }
}

TEST_F(BrokenModel, GoodFileLoads) { EXPECT_NO_THROW(load_model(write("copy.safetensors"))); }

TEST_F(BrokenModel, RefusesAFileWithoutModeldnaMetadata) {
  contents_.metadata.clear();
  EXPECT_THROW_MSG(load_model(write("plain.safetensors")), FormatError,
                   "plain.safetensors: not a model modeldna can run");
  contents_.metadata = {{kModelFormatKey, "model-v2"}, {kArchKey, read_contents(good_).metadata.at(kArchKey)}};
  EXPECT_THROW_MSG(load_model(write("v2.safetensors")), FormatError, "v2.safetensors: not a model modeldna can run");
}

TEST_F(BrokenModel, RefusesAMissingArchitecture) {
  contents_.metadata.erase(kArchKey);
  EXPECT_THROW_MSG(load_model(write("noarch.safetensors")), FormatError,
                   "noarch.safetensors: no \"modeldna.arch\"");
}

TEST_F(BrokenModel, RefusesBadArchitectureJson) {
  contents_.metadata[kArchKey] = "{\"arch\": \"mlp\", ";
  EXPECT_THROW_MSG(load_model(write("badjson.safetensors")), FormatError,
                   "badjson.safetensors: bad \"modeldna.arch\"");
  contents_.metadata[kArchKey] = R"({"arch": "mlp", "in_channels": 1, "image_size": 28, "num_classes": 10})";
  EXPECT_THROW_MSG(load_model(write("nowidth.safetensors")), FormatError,
                   "nowidth.safetensors: bad \"modeldna.arch\"");
  contents_.metadata[kArchKey] =
      R"({"arch": "mlp", "in_channels": 1, "image_size": 28, "num_classes": 10, "width": 1e9})";
  EXPECT_THROW_MSG(load_model(write("huge.safetensors")), FormatError, "width out of range");
}

TEST_F(BrokenModel, RefusesAnUnknownArchitecture) {
  contents_.metadata[kArchKey] =
      R"({"arch": "vgg16", "in_channels": 1, "image_size": 28, "num_classes": 10, "width": 0.25})";
  EXPECT_THROW_MSG(load_model(write("vgg.safetensors")), FormatError,
                   "vgg.safetensors: unknown architecture 'vgg16'");
}

TEST_F(BrokenModel, RefusesAnUnknownQuantization) {
  contents_.metadata[kQuantizationKey] = "int4";
  EXPECT_THROW_MSG(load_model(write("int4.safetensors")), FormatError,
                   "int4.safetensors: unsupported quantization 'int4'");
}

TEST_F(BrokenModel, RefusesAMissingTensor) {
  contents_.erase("fc3.bias");
  EXPECT_THROW_MSG(load_model(write("missing.safetensors")), FormatError,
                   "missing.safetensors: missing tensor 'fc3.bias'");
}

TEST_F(BrokenModel, RefusesAnExtraTensor) {
  contents_.tensors.push_back({"fc4.weight", io::DType::F32, {2}, float_bytes({1.f, 2.f})});
  EXPECT_THROW_MSG(load_model(write("extra.safetensors")), FormatError,
                   "extra.safetensors: unexpected tensor 'fc4.weight' for mlp");
}

TEST_F(BrokenModel, RefusesAScaleInAFloatFile) {
  contents_.tensors.push_back({"fc1.weight.qscale", io::DType::F32, {}, float_bytes({0.01f})});
  EXPECT_THROW_MSG(load_model(write("scale.safetensors")), FormatError,
                   "scale.safetensors: unexpected tensor 'fc1.weight.qscale'");
}

TEST_F(BrokenModel, RefusesAMisShapedTensor) {
  contents_.at("fc3.weight").shape = {32, 10};  // same bytes, transposed shape
  EXPECT_THROW_MSG(load_model(write("shape.safetensors")), FormatError,
                   "shape.safetensors: tensor 'fc3.weight' has shape [32, 10]");
  EXPECT_THROW_MSG(load_model(write("shape.safetensors")), FormatError, "[10, 32]");
  contents_.at("fc3.weight").shape = {320};
  EXPECT_THROW_MSG(load_model(write("flat.safetensors")), FormatError, "has shape [320]");
}

// Another float precision (a file converted with `convert --dtype f16`, or
// a float64 export) loads at the parameter's precision; integers never do.
TEST_F(BrokenModel, LoadsAnotherFloatPrecisionButNotIntegers) {
  auto& bias = contents_.at("fc3.bias");
  const std::string original = bias.bytes;
  std::vector<double> wide(bias.bytes.size() / sizeof(float));
  for (size_t i = 0; i < wide.size(); ++i) {
    float f;
    std::memcpy(&f, bias.bytes.data() + i * sizeof(float), sizeof f);
    wide[i] = f;
  }
  bias.dtype = io::DType::F64;
  bias.bytes.assign(reinterpret_cast<const char*>(wide.data()), wide.size() * sizeof(double));
  const auto loaded = load_model(write("f64.safetensors"));
  const auto value = loaded.network->named_parameters()["fc3.bias"].contiguous();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(value.data_ptr<float>()), original.size()), original);
  bias.dtype = io::DType::I32;
  bias.bytes = original;
  EXPECT_THROW_MSG(load_model(write("i32.safetensors")), FormatError,
                   "i32.safetensors: tensor 'fc3.bias' has dtype I32, expected F32");
}

TEST_F(BrokenModel, RefusesInt8WeightsInAFloatFile) {
  auto& w = contents_.at("fc3.weight");
  w.dtype = io::DType::I8;
  w.bytes.assign(10 * 32, '\x01');
  EXPECT_THROW_MSG(load_model(write("i8.safetensors")), FormatError,
                   "i8.safetensors: tensor 'fc3.weight' has dtype I8, expected F32");
}

TEST_F(BrokenModel, RefusesNonFiniteWeights) {
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    contents_ = read_contents(good_);
    auto& w = contents_.at("fc2.weight");
    std::memcpy(w.bytes.data() + 5 * sizeof(float), &bad, sizeof bad);
    EXPECT_THROW_MSG(load_model(write("nan.safetensors")), FormatError,
                     "nan.safetensors: tensor 'fc2.weight' holds NaN or infinite values");
  }
}

TEST_F(BrokenModel, RefusesATruncatedFile) {
  const auto size = fs::file_size(good_);
  for (const auto keep : {size - 1, size / 2, std::uintmax_t{20}, std::uintmax_t{4}}) {
    SCOPED_TRACE(keep);
    const std::string path = dir_ + "/truncated.safetensors";
    fs::copy_file(good_, path, fs::copy_options::overwrite_existing);
    fs::resize_file(path, keep);
    EXPECT_THROW_MSG(load_model(path), FormatError, "truncated.safetensors: ");
  }
}

TEST_F(BrokenModel, RefusesAMissingFile) {
  EXPECT_THROW_MSG(load_model(dir_ + "/absent.safetensors"), FormatError, "absent.safetensors: cannot open");
}

// An int8 file to break: the same mlp, quantized.
class BrokenInt8Model : public BrokenModel {
 protected:
  void SetUp() override {
    dir_ = testing::fresh_temp_dir();
    good_ = dir_ + "/good8.safetensors";
    auto net = testing::seeded_network(testing::arch_config("mlp", 0.25), 1);
    quantize_int8_per_tensor(*net);
    SaveOptions options;
    options.int8_weights = true;
    save_model(good_, *net, options);
    contents_ = read_contents(good_);
  }
};

TEST_F(BrokenInt8Model, GoodFileLoads) { EXPECT_NO_THROW(load_model(write("copy.safetensors"))); }

TEST_F(BrokenInt8Model, RefusesAnInt8TensorWithoutItsScale) {
  contents_.erase("fc2.weight.qscale");
  EXPECT_THROW_MSG(load_model(write("noscale.safetensors")), FormatError,
                   "noscale.safetensors: int8 tensor 'fc2.weight' lacks a float32 scalar 'fc2.weight.qscale'");
}

TEST_F(BrokenInt8Model, RefusesAScaleThatIsNotAFloat32Scalar) {
  auto& scale = contents_.at("fc2.weight.qscale");
  scale.shape = {2};
  scale.bytes = float_bytes({0.01f, 0.02f});
  EXPECT_THROW_MSG(load_model(write("twoscales.safetensors")), FormatError, "lacks a float32 scalar");
  contents_ = read_contents(good_);
  const double wide = 0.01;
  auto& scale64 = contents_.at("fc2.weight.qscale");
  scale64.dtype = io::DType::F64;
  scale64.bytes.assign(reinterpret_cast<const char*>(&wide), sizeof wide);
  EXPECT_THROW_MSG(load_model(write("f64scale.safetensors")), FormatError, "lacks a float32 scalar");
}

TEST_F(BrokenInt8Model, RefusesANonFiniteScale) {
  contents_.at("fc1.weight.qscale").bytes = float_bytes({std::numeric_limits<float>::infinity()});
  EXPECT_THROW_MSG(load_model(write("infscale.safetensors")), FormatError,
                   "infscale.safetensors: tensor 'fc1.weight': quantization scale is not finite");
}

TEST_F(BrokenInt8Model, RefusesAnOrphanScale) {
  contents_.tensors.push_back({"fc1.bias.qscale", io::DType::F32, {}, float_bytes({0.5f})});
  EXPECT_THROW_MSG(load_model(write("orphan.safetensors")), FormatError,
                   "orphan.safetensors: unexpected tensor 'fc1.bias.qscale'");
}

}  // namespace
}  // namespace modeldna::nn
