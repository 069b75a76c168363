#include "modeldna/io/language_model.h"

#include <filesystem>
#include <regex>
#include <set>

#include "modeldna/core/error.h"
#include "modeldna/core/json_file.h"
#include "modeldna/io/ecosystem_names.h"

namespace modeldna::io {
namespace {

namespace fs = std::filesystem;

// The architectures the runner computes (nn/language_model.cpp): a Llama
// decoder, with Q/K/V biases for Qwen2. Others are recognised, not run.
bool runs(const std::string& architecture) {
  return architecture == "llama" || architecture == "mistral" || architecture == "qwen2";
}

// What each hyper-parameter is called in the file it came from, so that an
// error names the field a user can look up.
struct Keys {
  std::string vocab, hidden, intermediate, layers, heads, kv_heads, head_dim;
};

Keys gguf_keys(const std::string& a) {
  return {a + ".vocab_size", a + ".embedding_length", a + ".feed_forward_length", a + ".block_count",
          a + ".attention.head_count", a + ".attention.head_count_kv", a + ".attention.key_length"};
}

const Keys kHuggingFaceKeys{"vocab_size",          "hidden_size",         "intermediate_size", "num_hidden_layers",
                            "num_attention_heads", "num_key_value_heads", "head_dim"};

class Fields {
 public:
  Fields(const nlohmann::json& j, std::string file) : j_(j), file_(std::move(file)) {}

  std::optional<int64_t> count(const std::string& key) const {
    const auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return std::nullopt;
    if (!it->is_number_integer() || it->get<int64_t>() <= 0)
      throw FormatError(file_, key + " is " + it->dump() + ", not a positive whole number");
    return it->get<int64_t>();
  }
  int64_t required_count(const std::string& key) const {
    if (auto v = count(key)) return *v;
    throw FormatError(file_, key + " is missing");
  }
  double real(const std::string& key, double fallback) const {
    const auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return fallback;
    if (!it->is_number() || !(it->get<double>() > 0)) throw FormatError(file_, key + " is " + it->dump() + ", not a positive number");
    return it->get<double>();
  }
  bool flag(const std::string& key, bool fallback) const {
    const auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) throw FormatError(file_, key + " is " + it->dump() + ", not true or false");
    return it->get<bool>();
  }
  const nlohmann::json* find(const std::string& key) const {
    const auto it = j_.find(key);
    return it == j_.end() ? nullptr : &*it;
  }

 private:
  const nlohmann::json& j_;
  std::string file_;
};

// The widths and head counts, read under the file's own key names.
void read_widths(LanguageModelConfig& c, const Fields& f, const Keys& k) {
  c.hidden_size = f.required_count(k.hidden);
  c.intermediate_size = f.required_count(k.intermediate);
  c.layers = f.required_count(k.layers);
  c.heads = f.required_count(k.heads);
  c.kv_heads = f.count(k.kv_heads).value_or(c.heads);
  c.head_dim = f.count(k.head_dim).value_or(0);
}

// Head counts and widths that fit together, or the field that does not.
void check_heads(LanguageModelConfig& c, const Keys& k) {
  if (c.heads % c.kv_heads != 0)
    throw FormatError(c.config_file, k.kv_heads + " " + std::to_string(c.kv_heads) + " does not divide " + k.heads + " " +
                                         std::to_string(c.heads));
  if (c.head_dim == 0) {
    if (c.hidden_size % c.heads != 0)
      throw FormatError(c.config_file, k.heads + " " + std::to_string(c.heads) + " does not divide " + k.hidden + " " +
                                           std::to_string(c.hidden_size));
    c.head_dim = c.hidden_size / c.heads;
  }
  if (c.head_dim % 2 != 0)
    throw FormatError(c.config_file, k.head_dim + " " + std::to_string(c.head_dim) + " is odd (rotary pairs need an even width)");
}

std::optional<LanguageModelConfig> from_gguf(const TensorStore& store) {
  const std::string a = gguf_architecture(store);
  if (a.empty()) return std::nullopt;
  LanguageModelConfig c;
  c.architecture = a;
  c.config_file = store.path();
  if (!runs(a)) {
    c.cannot_run = "architecture " + a + " is not one modeldna runs (llama, mistral, qwen2)";
    return c;
  }
  const Fields f(store.metadata(), store.path());
  const Keys k = gguf_keys(a);
  read_widths(c, f, k);
  c.context_length = f.count(a + ".context_length").value_or(c.context_length);
  c.rope_theta = f.real(a + ".rope.freq_base", c.rope_theta);
  c.rms_norm_eps = f.real(a + ".attention.layer_norm_rms_epsilon", c.rms_norm_eps);
  const TensorInfo* embedding = store.find("token_embd.weight");
  if (!embedding || embedding->shape.size() != 2) throw FormatError(store.path(), "token_embd.weight is missing or not a matrix");
  c.vocab_size = f.count(k.vocab).value_or(embedding->shape[0]);
  c.tied_embeddings = store.find("output.weight") == nullptr;
  c.attention_bias = store.find("blk.0.attn_q.bias") != nullptr;
  check_heads(c, k);
  return c;
}

std::optional<LanguageModelConfig> from_config_json(const TensorStore& store) {
  if (store.format() != Format::Safetensors && store.format() != Format::PyTorch) return std::nullopt;
  const fs::path model(store.path());
  std::error_code ec;
  const fs::path folder = fs::is_directory(model, ec) ? model : model.parent_path();
  const std::string file = (folder / "config.json").string();
  if (!fs::is_regular_file(file, ec)) return std::nullopt;
  JsonLimits limits;
  limits.max_bytes = kMaxModelConfigBytes;
  const auto j = read_json_file(file, limits);
  if (!j.is_object()) throw FormatError(file, "not a JSON object");
  const auto type = j.find("model_type");
  if (type == j.end()) return std::nullopt;  // a config.json of something else
  if (!type->is_string()) throw FormatError(file, "model_type is not a string");
  LanguageModelConfig c;
  c.architecture = type->get<std::string>();
  c.config_file = file;
  if (!runs(c.architecture)) {
    c.cannot_run = "model_type " + c.architecture + " is not one modeldna runs (llama, mistral, qwen2)";
    return c;
  }
  const Fields f(j, file);
  const Keys& k = kHuggingFaceKeys;
  c.vocab_size = f.required_count(k.vocab);
  read_widths(c, f, k);
  c.context_length = f.count("max_position_embeddings").value_or(c.context_length);
  c.rope_theta = f.real("rope_theta", c.rope_theta);
  c.rms_norm_eps = f.real("rms_norm_eps", 1e-6);  // transformers' LlamaConfig default
  c.tied_embeddings = f.flag("tie_word_embeddings", false);
  c.attention_bias = c.architecture == "qwen2" || f.flag("attention_bias", false);
  if (const auto* scaling = f.find("rope_scaling"); scaling && !scaling->is_null())
    c.cannot_run = "rope_scaling " + scaling->dump() + " is not computed by modeldna's runner";
  if (f.flag("mlp_bias", false)) c.cannot_run = "mlp_bias is not computed by modeldna's runner";
  check_heads(c, k);
  return c;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s;
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? " x " : "") + std::to_string(shape[i]);
  return s.empty() ? "a scalar" : s;
}

// The fields a tensor's expected shape comes from, for the error.
std::string fields_of(const std::string& name, const Keys& k) {
  if (name.find("q_proj") != std::string::npos || name.find("o_proj") != std::string::npos)
    return k.heads + ", " + k.head_dim + ", " + k.hidden;
  if (name.find("k_proj") != std::string::npos || name.find("v_proj") != std::string::npos)
    return k.kv_heads + ", " + k.head_dim + ", " + k.hidden;
  if (name.find("mlp.") != std::string::npos) return k.intermediate + ", " + k.hidden;
  if (name.find("embed_tokens") != std::string::npos || name.find("lm_head") != std::string::npos)
    return k.vocab + ", " + k.hidden;
  return k.hidden;
}

// Every tensor the runner reads is there with the shape the metadata says,
// and the file holds no block beyond the stated count.
void check_tensors(const TensorStore& store, const LanguageModelConfig& c, const Keys& k) {
  std::map<std::string, const TensorInfo*> by_name;
  std::set<int64_t> blocks;
  static const std::regex kBlock(R"(layers\.(\d+)\..*)");
  for (const auto& t : store.tensors()) {
    const auto name = ecosystem_name(store, t.name);
    by_name.emplace(name, &t);
    std::smatch m;
    if (std::regex_match(name, m, kBlock)) blocks.insert(std::stoll(m[1].str()));
  }
  if (!blocks.empty() && *blocks.rbegin() >= c.layers)
    throw FormatError(c.config_file, k.layers + " is " + std::to_string(c.layers) + ", but " + store.path() +
                                         " holds block " + std::to_string(*blocks.rbegin()));
  for (const auto& [name, shape] : c.expected_shapes()) {
    const auto it = by_name.find(name);
    if (it == by_name.end())
      throw FormatError(store.path(), "tensor " + name + " is missing (" + k.layers + " " + std::to_string(c.layers) +
                                          (c.tied_embeddings ? "" : ", output head not tied") + ")");
    if (it->second->shape != shape)
      throw FormatError(store.path(), "tensor " + it->second->name + " is " + shape_text(it->second->shape) + ", but " +
                                          fields_of(name, k) + " in " + c.config_file + " say " + shape_text(shape));
  }
}

}  // namespace

std::map<std::string, std::vector<int64_t>> LanguageModelConfig::expected_shapes() const {
  std::map<std::string, std::vector<int64_t>> s;
  const int64_t q = heads * head_dim, kv = kv_heads * head_dim;
  s["embed_tokens.weight"] = {vocab_size, hidden_size};
  s["norm.weight"] = {hidden_size};
  if (!tied_embeddings) s["lm_head.weight"] = {vocab_size, hidden_size};
  for (int64_t b = 0; b < layers; ++b) {
    const std::string p = "layers." + std::to_string(b) + ".";
    s[p + "input_layernorm.weight"] = {hidden_size};
    s[p + "post_attention_layernorm.weight"] = {hidden_size};
    s[p + "self_attn.q_proj.weight"] = {q, hidden_size};
    s[p + "self_attn.k_proj.weight"] = {kv, hidden_size};
    s[p + "self_attn.v_proj.weight"] = {kv, hidden_size};
    s[p + "self_attn.o_proj.weight"] = {hidden_size, q};
    if (attention_bias) {
      s[p + "self_attn.q_proj.bias"] = {q};
      s[p + "self_attn.k_proj.bias"] = {kv};
      s[p + "self_attn.v_proj.bias"] = {kv};
    }
    s[p + "mlp.gate_proj.weight"] = {intermediate_size, hidden_size};
    s[p + "mlp.up_proj.weight"] = {intermediate_size, hidden_size};
    s[p + "mlp.down_proj.weight"] = {hidden_size, intermediate_size};
  }
  return s;
}

nlohmann::json LanguageModelConfig::to_json() const {
  nlohmann::json j = {{"architecture", architecture}, {"config_file", config_file}, {"runs", cannot_run.empty()}};
  if (!cannot_run.empty()) {
    j["cannot_run"] = cannot_run;
    return j;
  }
  j.update({{"vocab_size", vocab_size},
            {"hidden_size", hidden_size},
            {"intermediate_size", intermediate_size},
            {"layers", layers},
            {"heads", heads},
            {"kv_heads", kv_heads},
            {"head_dim", head_dim},
            {"context_length", context_length},
            {"rope_theta", rope_theta},
            {"rms_norm_eps", rms_norm_eps},
            {"tied_embeddings", tied_embeddings},
            {"attention_bias", attention_bias}});
  return j;
}

std::string LanguageModelConfig::describe() const {
  if (!cannot_run.empty()) return architecture + " (not run: " + cannot_run + ")";
  return architecture + ", " + std::to_string(layers) + " blocks, hidden " + std::to_string(hidden_size) + ", " +
         std::to_string(heads) + " heads (" + std::to_string(kv_heads) + " key-value) of " + std::to_string(head_dim) +
         ", feed-forward " + std::to_string(intermediate_size) + ", vocabulary " + std::to_string(vocab_size) + ", " +
         (tied_embeddings ? "output head tied to the embedding" : "separate output head");
}

std::optional<LanguageModelConfig> language_model_config(const TensorStore& store) {
  auto c = store.format() == Format::GGUF ? from_gguf(store) : from_config_json(store);
  if (c && c->cannot_run.empty())
    check_tensors(store, *c, store.format() == Format::GGUF ? gguf_keys(c->architecture) : kHuggingFaceKeys);
  return c;
}

}  // namespace modeldna::io
