#include "modeldna/nn/language_model.h"

#include <torch/nn/functional/activation.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>

#include <cmath>
#include <filesystem>

#include "modeldna/core/error.h"
#include "modeldna/core/json_file.h"
#include "modeldna/io/ecosystem_names.h"
#include "modeldna/io/vocabulary.h"
#include "modeldna/nn/tensor_io.h"

namespace modeldna::nn {

namespace detail {

// y = x / sqrt(mean(x^2) + eps) * weight, in float32.
class RmsNorm : public torch::nn::Module {
 public:
  RmsNorm(int64_t size, double eps) : eps_(eps) { weight = register_parameter("weight", torch::ones({size})); }
  torch::Tensor forward(const torch::Tensor& x) const {
    return x * torch::rsqrt(x.pow(2).mean(-1, true) + eps_) * weight;
  }
  torch::Tensor weight;

 private:
  double eps_;
};

class Attention : public torch::nn::Module {
 public:
  explicit Attention(const io::LanguageModelConfig& c) : c_(c) {
    const int64_t q = c.heads * c.head_dim, kv = c.kv_heads * c.head_dim;
    auto linear = [&](const char* name, int64_t in, int64_t out, bool bias) {
      return register_module(name, torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(bias)));
    };
    q_proj = linear("q_proj", c.hidden_size, q, c.attention_bias);
    k_proj = linear("k_proj", c.hidden_size, kv, c.attention_bias);
    v_proj = linear("v_proj", c.hidden_size, kv, c.attention_bias);
    o_proj = linear("o_proj", q, c.hidden_size, false);
  }

  // x [b, t, hidden]; cos, sin [t, head_dim]; mask [t, t] (0 or -inf).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                        const torch::Tensor& mask) {
    const int64_t b = x.size(0), t = x.size(1), d = c_.head_dim;
    auto heads = [&](const torch::Tensor& y, int64_t n) { return y.view({b, t, n, d}).transpose(1, 2); };
    auto q = rotate(heads(q_proj(x), c_.heads), cos, sin);
    auto k = rotate(heads(k_proj(x), c_.kv_heads), cos, sin);
    auto v = heads(v_proj(x), c_.kv_heads);
    // Grouped-query attention: each key-value head serves heads / kv_heads
    // consecutive query heads (transformers' repeat_kv).
    const int64_t group = c_.heads / c_.kv_heads;
    k = k.repeat_interleave(group, 1);
    v = v.repeat_interleave(group, 1);
    const auto scores = torch::matmul(q, k.transpose(-1, -2)) / std::sqrt(static_cast<double>(d)) + mask;
    const auto out = torch::matmul(scores.softmax(-1), v).transpose(1, 2).reshape({b, t, c_.heads * d});
    return o_proj(out);
  }

  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};

 private:
  // Hugging Face's rotate-half: dimension i turns with dimension i + d/2.
  static torch::Tensor rotate(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
    const int64_t half = x.size(-1) / 2;
    const auto rotated = torch::cat({-x.slice(-1, half), x.slice(-1, 0, half)}, -1);
    return x * cos + rotated * sin;
  }
  io::LanguageModelConfig c_;
};

class Mlp : public torch::nn::Module {
 public:
  explicit Mlp(const io::LanguageModelConfig& c) {
    auto linear = [&](const char* name, int64_t in, int64_t out) {
      return register_module(name, torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(false)));
    };
    gate_proj = linear("gate_proj", c.hidden_size, c.intermediate_size);
    up_proj = linear("up_proj", c.hidden_size, c.intermediate_size);
    down_proj = linear("down_proj", c.intermediate_size, c.hidden_size);
  }
  torch::Tensor forward(const torch::Tensor& x) {
    return down_proj(torch::nn::functional::silu(gate_proj(x)) * up_proj(x));
  }
  torch::nn::Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};

class DecoderBlock : public torch::nn::Module {
 public:
  explicit DecoderBlock(const io::LanguageModelConfig& c)
      : input_layernorm(register_module("input_layernorm", std::make_shared<RmsNorm>(c.hidden_size, c.rms_norm_eps))),
        self_attn(register_module("self_attn", std::make_shared<Attention>(c))),
        post_attention_layernorm(
            register_module("post_attention_layernorm", std::make_shared<RmsNorm>(c.hidden_size, c.rms_norm_eps))),
        mlp(register_module("mlp", std::make_shared<Mlp>(c))) {}

  torch::Tensor forward(torch::Tensor x, const torch::Tensor& cos, const torch::Tensor& sin, const torch::Tensor& mask) {
    x = x + self_attn->forward(input_layernorm->forward(x), cos, sin, mask);
    return x + mlp->forward(post_attention_layernorm->forward(x));
  }

  std::shared_ptr<RmsNorm> input_layernorm;
  std::shared_ptr<Attention> self_attn;
  std::shared_ptr<RmsNorm> post_attention_layernorm;
  std::shared_ptr<Mlp> mlp;
};

}  // namespace detail

namespace {

ArchConfig arch_of(const io::LanguageModelConfig& c) {
  ArchConfig a;
  a.arch = c.architecture;
  a.input = InputSpec::text(c.vocab_size, kProbeTokens);
  a.num_classes = c.vocab_size;
  a.head = Head::NextToken;
  return a;
}

}  // namespace

CausalLm::CausalLm(io::LanguageModelConfig config) : Network(arch_of(config)), lm_(std::move(config)) {
  MDNA_CHECK(lm_.cannot_run.empty(), "cannot run " + lm_.architecture + ": " + lm_.cannot_run);
  embed_tokens_ = register_module("embed_tokens", torch::nn::Embedding(lm_.vocab_size, lm_.hidden_size));
  auto layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t b = 0; b < lm_.layers; ++b) {
    layers_.push_back(std::make_shared<detail::DecoderBlock>(lm_));
    layers->push_back(layers_.back());
  }
  norm_ = register_module("norm", std::make_shared<detail::RmsNorm>(lm_.hidden_size, lm_.rms_norm_eps));
  if (!lm_.tied_embeddings)
    lm_head_ = register_module("lm_head", torch::nn::Linear(torch::nn::LinearOptions(lm_.hidden_size, lm_.vocab_size).bias(false)));
}

torch::Tensor CausalLm::hidden_states(const torch::Tensor& ids) {
  MDNA_CHECK(ids.dim() == 2 && ids.scalar_type() == torch::kInt64, "a language model reads int64 token ids [batch, length]");
  const int64_t t = ids.size(1), d = lm_.head_dim;
  const auto inverse_frequency =
      torch::pow(lm_.rope_theta, -torch::arange(0, d, 2, torch::kFloat64) / static_cast<double>(d)).to(torch::kFloat32);
  const auto angles = torch::outer(torch::arange(t, torch::kFloat32), inverse_frequency);
  const auto both = torch::cat({angles, angles}, -1);
  const auto cos = both.cos(), sin = both.sin();
  const auto mask = torch::full({t, t}, -std::numeric_limits<float>::infinity()).triu(1);
  auto x = embed_tokens_(ids);
  for (auto& block : layers_) x = block->forward(x, cos, sin, mask);
  return norm_->forward(x);
}

torch::Tensor CausalLm::features(torch::Tensor ids) { return hidden_states(ids).select(1, ids.size(1) - 1); }

torch::Tensor CausalLm::classify(const torch::Tensor& features) {
  return torch::matmul(features, (lm_head_ ? lm_head_->weight : embed_tokens_->weight).t());
}

torch::Tensor CausalLm::token_logits(const torch::Tensor& ids) { return classify(hidden_states(ids)); }

namespace {

// transformers' LlamaConfig.initializer_range: the standard deviation of
// every matrix of a freshly initialised Llama.
constexpr double kInitializerRange = 0.02;

// transformers' model class for each architecture the runner computes.
std::string model_class(const std::string& architecture) {
  if (architecture == "mistral") return "MistralForCausalLM";
  if (architecture == "qwen2") return "Qwen2ForCausalLM";
  return "LlamaForCausalLM";
}

nlohmann::json hugging_face_config(const io::LanguageModelConfig& c) {
  return {{"architectures", {model_class(c.architecture)}},
          {"model_type", c.architecture},
          {"vocab_size", c.vocab_size},
          {"hidden_size", c.hidden_size},
          {"intermediate_size", c.intermediate_size},
          {"num_hidden_layers", c.layers},
          {"num_attention_heads", c.heads},
          {"num_key_value_heads", c.kv_heads},
          {"head_dim", c.head_dim},
          {"hidden_act", "silu"},
          {"rms_norm_eps", c.rms_norm_eps},
          {"rope_theta", c.rope_theta},
          {"rope_scaling", nullptr},
          {"attention_bias", c.attention_bias},
          {"mlp_bias", false},
          {"tie_word_embeddings", c.tied_embeddings},
          {"max_position_embeddings", c.context_length},
          {"initializer_range", kInitializerRange},
          {"torch_dtype", "float32"}};
}

}  // namespace

std::shared_ptr<CausalLm> make_language_model(const io::LanguageModelConfig& config, uint64_t seed) {
  MDNA_CHECK(config.cannot_run.empty(), "cannot build " + config.architecture + ": " + config.cannot_run);
  auto model = std::make_shared<CausalLm>(config);
  auto generator = at::detail::createCPUGenerator(seed);
  torch::NoGradGuard no_grad;
  for (auto& item : model->named_parameters()) {
    auto& p = item.value();
    if (p.dim() >= 2) {
      p.normal_(0.0, kInitializerRange, generator);
    } else if (item.key().find("norm") != std::string::npos) {
      p.fill_(1.0);
    } else {
      p.zero_();  // biases
    }
  }
  model->eval();
  return model;
}

void save_language_model(const std::string& folder, const CausalLm& model, const std::string& tokenizer_model) {
  namespace fs = std::filesystem;
  make_directories(folder);
  NamedTensors tensors;
  for (const auto& [name, t] : named_state(model))
    tensors.emplace_back(name == "lm_head.weight" ? name : "model." + name, t.detach().contiguous());
  write_tensors(folder + "/model.safetensors", tensors, {{"format", "pt"}});
  write_json_file(folder + "/config.json", hugging_face_config(model.language_model()));
  std::error_code ec;
  fs::copy_file(tokenizer_model, folder + "/tokenizer.model", fs::copy_options::overwrite_existing, ec);
  if (ec) throw UsageError("cannot copy the tokenizer " + tokenizer_model + " into " + folder + ": " + ec.message());
}

void save_language_model_gguf(const std::string& path, const CausalLm& model, const std::string& tokenizer_model,
                              io::LlamaFileType type) {
  const auto blob = io::map_file(tokenizer_model);
  const auto pieces = io::sentencepiece_model(tokenizer_model, blob->data(), blob->size());
  std::map<std::string, torch::Tensor> state;
  for (const auto& [name, t] : named_state(model)) state[name] = t;
  io::write_llama_gguf(path, model.language_model(), pieces, [&](const std::string& name) {
    const auto values = state.at(name).detach().to(torch::kFloat32).contiguous();
    return std::vector<float>(values.data_ptr<float>(), values.data_ptr<float>() + values.numel());
  }, type);
}

LoadedLanguageModel load_language_model(std::shared_ptr<const io::TensorStore> store) {
  const io::TensorStore& file = *store;
  const auto config = io::language_model_config(file);
  if (!config) throw FormatError(file.path(), "not a decoder language model (no GGUF architecture, no config.json beside it)");
  if (!config->cannot_run.empty()) throw UsageError(file.path() + ": cannot run it: " + config->cannot_run);
  auto model = std::make_shared<CausalLm>(*config);
  std::map<std::string, const io::TensorInfo*> by_name;
  for (const auto& t : file.tensors()) by_name.emplace(io::ecosystem_name(file, t.name), &t);
  torch::NoGradGuard no_grad;
  for (auto& item : model->named_parameters()) {
    auto& parameter = item.value();
    // language_model_config checked that each is there with its shape.
    const io::TensorInfo& tensor = *by_name.at(item.key());
    auto values = file.read_f32(tensor);
    auto loaded = torch::from_blob(values.data(), parameter.sizes(), torch::kFloat32).clone();
    if (const auto stored = io::rotary_stored_rows(file, tensor))
      loaded = loaded.index_select(0, torch::tensor(*stored, torch::kInt64));
    if (!loaded.isfinite().all().item<bool>()) throw FormatError(file.path(), "tensor " + tensor.name + " holds non-finite values");
    parameter.copy_(loaded);
    file.release(tensor);
  }
  model->eval();
  return {std::move(model), std::move(store)};
}

}  // namespace modeldna::nn
