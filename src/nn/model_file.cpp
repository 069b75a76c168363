#include "modeldna/nn/model_file.h"

#include "modeldna/core/error.h"
#include "modeldna/io/safetensors.h"
#include "modeldna/nn/compress.h"
#include "modeldna/nn/tensor_io.h"

namespace modeldna::nn {
namespace {

bool quantizable(const torch::Tensor& t) { return t.dim() >= 2 && t.is_floating_point(); }

}  // namespace

void save_model(const std::string& path, const Network& net, const SaveOptions& options) {
  NamedTensors tensors;
  for (const auto& [name, t] : named_state(net)) {
    if (options.int8_weights && quantizable(t) && net.named_parameters().contains(name)) {
      const auto q = to_int8_per_tensor(t);
      tensors.emplace_back(name, q.values);
      tensors.emplace_back(name + kInt8ScaleSuffix, q.scale);
    } else {
      tensors.emplace_back(name, t);
    }
  }
  auto metadata = options.metadata;
  metadata[kModelFormatKey] = kModelFormat;
  metadata[kArchKey] = net.config().to_json().dump();
  if (options.int8_weights) metadata[kQuantizationKey] = kInt8PerTensor;
  write_tensors(path, tensors, metadata);
}

LoadedModel load_model(const std::string& path) {
  const auto file = io::SafetensorsFile::open(path);
  const auto& meta = file.metadata();
  auto format = meta.find(kModelFormatKey);
  if (format == meta.end() || format->second != kModelFormat)
    throw FormatError(path, "not a modeldna model: __metadata__ lacks \"modeldna.format\": \"model-v1\"");
  auto arch_text = meta.find(kArchKey);
  if (arch_text == meta.end()) throw FormatError(path, "no \"modeldna.arch\" in __metadata__");
  ArchConfig config;
  try {
    config = ArchConfig::from_json(nlohmann::json::parse(arch_text->second));
  } catch (const std::exception& e) {
    throw FormatError(path, std::string("bad \"modeldna.arch\": ") + e.what());
  }
  auto quant = meta.find(kQuantizationKey);
  const bool int8 = quant != meta.end();
  if (int8 && quant->second != kInt8PerTensor)
    throw FormatError(path, "unsupported quantization '" + quant->second + "'");

  NetworkPtr net;
  try {
    net = make_network(config);
  } catch (const Error& e) {
    throw FormatError(path, e.what());
  }
  LoadStateOptions load_options;
  load_options.allow_int8 = int8;
  refuse_extra_tensors(file, load_state(*net, file, load_options), config.arch);
  net->eval();
  return {net, meta};
}

}  // namespace modeldna::nn
