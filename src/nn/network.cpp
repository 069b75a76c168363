#include "modeldna/nn/network.h"

#include <torch/nn/modules/container/any.h>

#include <algorithm>
#include <functional>
#include <set>

#include "modeldna/core/error.h"
#include "modeldna/data/task.h"
#include "modeldna/data/tokenizer.h"
#include "arch/architecture_table.h"

namespace modeldna::nn {
namespace {


}  // namespace

std::string_view head_name(Head head) {
  switch (head) {
    case Head::Classify: return "classify";
    case Head::MaskedLm: return "masked-lm";
    case Head::NextToken: return "next-token";
  }
  throw InternalError("invalid Head");
}

std::optional<Head> parse_head(std::string_view name) {
  if (name == "classify") return Head::Classify;
  if (name == "masked-lm") return Head::MaskedLm;
  if (name == "next-token") return Head::NextToken;
  return std::nullopt;
}

namespace {

// The architecture's own rules first (clearer words for a config of the wrong
// modality), then the ranges.
void validate(const ArchConfig& c, const arch::ArchEntry* entry) {
  const InputSpec& in = c.input;
  const bool text = in.modality == data::Modality::Text;
  if (entry) {
    if (entry->modality == data::Modality::Text)
      MDNA_CHECK(text, "'" + c.arch + "' is a text architecture: it needs a text input (vocab_size and seq_len)");
    else
      MDNA_CHECK(!text, "'" + c.arch + "' is an image architecture: it needs an image input");
    MDNA_CHECK(std::find(entry->heads.begin(), entry->heads.end(), c.head) != entry->heads.end(),
               "'" + c.arch + "' has no head '" + std::string(head_name(c.head)) + "'");
  }
  MDNA_CHECK(c.width > 0 && c.width <= 16, "width out of range");
  in.check();
  if (c.head == Head::MaskedLm || c.head == Head::NextToken)
    MDNA_CHECK(c.num_classes == in.vocab_size, "head " + std::string(head_name(c.head)) + " needs num_classes == vocab_size (" +
                                                   std::to_string(c.num_classes) + " vs " +
                                                   std::to_string(in.vocab_size) + ")");
  else
    MDNA_CHECK(c.num_classes > 0 && c.num_classes <= 100000, "num_classes out of range");
}

const arch::ArchEntry& known_arch(const std::string& name) {
  const auto* entry = arch::find_arch(name);
  if (!entry) throw UsageError("unknown architecture '" + name + "'");
  return *entry;
}

}  // namespace

torch::Tensor ArchConfig::example_input(int64_t batch) const {
  MDNA_CHECK(batch >= 0, "negative batch size");
  if (modality() == data::Modality::Image) return torch::zeros(input.shape(batch));
  auto x = torch::full(input.shape(batch), data::Tokenizer::kPad, torch::kInt64);
  x.select(1, 0).fill_(data::Tokenizer::kCls);
  return x;
}

// Image configs keep the layout every existing model file has; text configs
// leave out the image fields (and image ones the text fields). The modality is
// not written: the architecture's name says it.
nlohmann::json ArchConfig::to_json() const {
  if (modality() == data::Modality::Image)
    return {{"arch", arch}, {"in_channels", input.in_channels}, {"image_size", input.image_size},
            {"num_classes", num_classes}, {"width", width}};
  return {{"arch", arch}, {"vocab_size", input.vocab_size}, {"seq_len", input.seq_len},
          {"num_classes", num_classes}, {"width", width}, {"head", std::string(head_name(head))}};
}

ArchConfig ArchConfig::from_json(const nlohmann::json& j) {
  try {
    ArchConfig c;
    c.arch = j.at("arch").get<std::string>();
    const auto* entry = arch::find_arch(c.arch);
    const bool text = entry ? entry->modality == data::Modality::Text : j.contains("vocab_size");
    const char* const image_fields[] = {"in_channels", "image_size"};
    const char* const text_fields[] = {"vocab_size", "seq_len", "head"};
    if (text) {
      for (const char* f : image_fields)
        MDNA_CHECK(!j.contains(f), "'" + c.arch + "' is a text architecture: it takes no " + f);
      c.input = InputSpec::text(j.at("vocab_size").get<int64_t>(), j.at("seq_len").get<int64_t>());
      const auto head = j.at("head").get<std::string>();
      const auto known = parse_head(head);
      MDNA_CHECK(known.has_value(), "unknown head '" + head + "' (classify or masked-lm)");
      c.head = *known;
    } else {
      for (const char* f : text_fields)
        MDNA_CHECK(!j.contains(f), "'" + c.arch + "' is an image architecture: it takes no " + f);
      c.input = InputSpec::image(j.at("in_channels").get<int64_t>(), j.at("image_size").get<int64_t>());
    }
    c.num_classes = j.at("num_classes").get<int64_t>();
    c.width = j.at("width").get<double>();
    validate(c, entry);
    return c;
  } catch (const nlohmann::json::exception& e) {
    throw UsageError(std::string("bad architecture config: ") + e.what());
  }
}

bool ArchConfig::operator==(const ArchConfig& o) const {
  return arch == o.arch && input == o.input && num_classes == o.num_classes && width == o.width && head == o.head;
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
  const auto& entry = known_arch(config.arch);
  validate(config, &entry);
  return entry.build(config);
}

data::Modality architecture_modality(const std::string& name) { return known_arch(name).modality; }

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

// Copies every parameter and buffer whose name `wanted` accepts; UsageError
// when `to` has one that `from` lacks or shapes differ.
void copy_tensors(const Network& from, Network& to, const std::function<bool(const std::string&)>& wanted) {
  torch::NoGradGuard no_grad;
  auto copy = [&](const torch::OrderedDict<std::string, torch::Tensor>& src,
                  torch::OrderedDict<std::string, torch::Tensor> dst) {
    for (auto& d : dst) {
      if (!wanted(d.key())) continue;
      const auto* s = src.find(d.key());
      MDNA_CHECK(s && s->sizes() == d.value().sizes(),
                 "cannot copy '" + d.key() + "' from '" + from.config().arch + "' to '" + to.config().arch +
                     "': the architectures differ");
      d.value().copy_(*s);
    }
  };
  copy(from.named_parameters(), to.named_parameters());
  copy(from.named_buffers(), to.named_buffers());
}

void copy_selected(const Network& from, Network& to, const std::set<std::string>* layers) {
  MDNA_CHECK(from.config() == to.config(), "cannot copy weights between different architectures ('" +
                                               from.config().arch + "' and '" + to.config().arch + "')");
  copy_tensors(from, to, [&](const std::string& name) { return !layers || in_layers(name, *layers); });
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

NetworkPtr with_new_head(const Network& pretrained, int64_t num_classes) {
  auto config = pretrained.config();
  config.head = Head::Classify;
  config.num_classes = num_classes;
  auto net = make_network(config);
  const auto layers = net->layer_names();
  MDNA_CHECK(layers == pretrained.layer_names(),
             "cannot grow a new head on '" + pretrained.config().arch + "': its layers differ from the classifier's");
  const std::set<std::string> body(layers.begin(), layers.end() - 1);
  copy_tensors(pretrained, *net, [&](const std::string& name) { return in_layers(name, body); });
  return net;
}

}  // namespace modeldna::nn
