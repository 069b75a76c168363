#include "modeldna/nn/network.h"

#include <torch/nn/modules/container/any.h>

#include <set>

#include "modeldna/core/error.h"
#include "arch/registry.h"

namespace modeldna::nn {

nlohmann::json ArchConfig::to_json() const {
  return {{"arch", arch}, {"in_channels", in_channels}, {"image_size", image_size},
          {"num_classes", num_classes}, {"width", width}};
}

ArchConfig ArchConfig::from_json(const nlohmann::json& j) {
  try {
    ArchConfig c;
    c.arch = j.at("arch").get<std::string>();
    c.in_channels = j.at("in_channels").get<int64_t>();
    c.image_size = j.at("image_size").get<int64_t>();
    c.num_classes = j.at("num_classes").get<int64_t>();
    c.width = j.at("width").get<double>();
    MDNA_CHECK(c.in_channels > 0 && c.in_channels <= 16, "in_channels out of range");
    MDNA_CHECK(c.image_size >= 8 && c.image_size <= 512, "image_size out of range");
    MDNA_CHECK(c.num_classes > 0 && c.num_classes <= 100000, "num_classes out of range");
    MDNA_CHECK(c.width > 0 && c.width <= 16, "width out of range");
    return c;
  } catch (const nlohmann::json::exception& e) {
    throw UsageError(std::string("bad architecture config: ") + e.what());
  }
}

bool ArchConfig::operator==(const ArchConfig& o) const {
  return arch == o.arch && in_channels == o.in_channels && image_size == o.image_size &&
         num_classes == o.num_classes && width == o.width;
}

std::vector<std::string> Network::layer_names() const {
  std::vector<std::string> names;
  for (const auto& child : named_children()) names.push_back(child.key());
  return names;
}

std::vector<std::string> Network::last_layers(int64_t k) const {
  const auto names = layer_names();
  MDNA_CHECK(k >= 0 && k <= static_cast<int64_t>(names.size()),
             config_.arch + " has " + std::to_string(names.size()) + " layers, cannot take the last " +
                 std::to_string(k));
  return {names.end() - k, names.end()};
}

int64_t Network::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

NetworkPtr make_network(const ArchConfig& config) {
  for (const auto& entry : arch::registry())
    if (entry.name == config.arch) return entry.build(config);
  throw UsageError("unknown architecture '" + config.arch + "'");
}

std::vector<std::pair<std::string, std::string>> architectures() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& entry : arch::registry()) out.emplace_back(entry.name, entry.description);
  return out;
}

namespace {

bool in_layers(const std::string& name, const std::set<std::string>& layers) {
  const auto dot = name.find('.');
  return layers.count(name.substr(0, dot)) > 0;
}

void copy_selected(const Network& from, Network& to, const std::set<std::string>* layers) {
  MDNA_CHECK(from.config() == to.config(), "cannot copy weights between different architectures ('" +
                                               from.config().arch + "' and '" + to.config().arch + "')");
  torch::NoGradGuard no_grad;
  auto src_params = from.named_parameters();
  for (auto& dst : to.named_parameters())
    if (!layers || in_layers(dst.key(), *layers)) dst.value().copy_(src_params[dst.key()]);
  auto src_buffers = from.named_buffers();
  for (auto& dst : to.named_buffers())
    if (!layers || in_layers(dst.key(), *layers)) dst.value().copy_(src_buffers[dst.key()]);
}

}  // namespace

void copy_state(const Network& from, Network& to) { copy_selected(from, to, nullptr); }

void copy_layers(const Network& from, Network& to, const std::vector<std::string>& layers) {
  const std::set<std::string> wanted(layers.begin(), layers.end());
  copy_selected(from, to, &wanted);
}

NetworkPtr clone_network(const Network& net) {
  auto copy = make_network(net.config());
  copy_state(net, *copy);
  return copy;
}

}  // namespace modeldna::nn
