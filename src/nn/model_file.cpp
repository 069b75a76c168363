#include "modeldna/nn/model_file.h"

#include "modeldna/core/error.h"
#include "modeldna/core/json_file.h"
#include "modeldna/io/open_store.h"
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

std::optional<ArchConfig> runnable_arch(const io::TensorStore& store) {
  const auto& meta = store.metadata();
  auto text = [&](const char* key) -> std::string {
    return meta.contains(key) && meta[key].is_string() ? meta[key].get<std::string>() : "";
  };
  if (text(kModelFormatKey) != kModelFormat) return std::nullopt;
  const std::string arch = text(kArchKey);
  if (arch.empty()) throw FormatError(store.path(), "no \"modeldna.arch\" in __metadata__");
  try {
    return ArchConfig::from_json(parse_json(store.path(), arch, {1 << 20, 4}));
  } catch (const FormatError& e) {
    throw FormatError(store.path(), "bad \"modeldna.arch\": " + e.problem());
  } catch (const UsageError& e) {
    throw FormatError(store.path(), std::string("bad \"modeldna.arch\": ") + e.what());
  }
}

LoadedModel load_model(const std::string& path) { return load_model(std::make_shared<io::TensorStore>(io::open_store(path))); }

LoadedModel load_model(std::shared_ptr<const io::TensorStore> store) {
  const io::TensorStore& file = *store;
  const std::string& path = file.path();
  const auto arch = runnable_arch(file);
  if (!arch)
    throw FormatError(path, "not a model modeldna can run: __metadata__ lacks \"modeldna.format\": \"model-v1\" "
                            "(inspect, convert and compare's white-box evidence still work on it)");
  const ArchConfig config = *arch;
  const auto& meta = file.metadata();
  const bool int8 = meta.contains(kQuantizationKey);
  if (int8 && meta[kQuantizationKey] != kInt8PerTensor)
    throw FormatError(path, "unsupported quantization '" +
                                (meta[kQuantizationKey].is_string() ? meta[kQuantizationKey].get<std::string>()
                                                                    : meta[kQuantizationKey].dump()) + "'");

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
  std::map<std::string, std::string> metadata;
  for (const auto& item : meta.items())
    metadata[item.key()] = item.value().is_string() ? item.value().get<std::string>() : item.value().dump();
  return {net, metadata, std::move(store)};
}

}  // namespace modeldna::nn
