#include "modeldna/io/ecosystem_names.h"

#include <array>
#include <regex>
#include <string_view>

namespace modeldna::io {
namespace {

struct Rename {
  std::string_view gguf, hugging_face;
};

// Per block (blk.N.<gguf> -> <block prefix>.N.<hugging_face>), from gguf-py's
// tensor_mapping.py for the architectures named.
constexpr std::array kLlamaBlock{
    Rename{"attn_norm", "input_layernorm"},    Rename{"attn_q", "self_attn.q_proj"},
    Rename{"attn_k", "self_attn.k_proj"},      Rename{"attn_v", "self_attn.v_proj"},
    Rename{"attn_output", "self_attn.o_proj"}, Rename{"attn_q_norm", "self_attn.q_norm"},
    Rename{"attn_k_norm", "self_attn.k_norm"}, Rename{"ffn_norm", "post_attention_layernorm"},
    Rename{"ffn_gate", "mlp.gate_proj"},       Rename{"ffn_up", "mlp.up_proj"},
    Rename{"ffn_down", "mlp.down_proj"},
};
constexpr std::array kPhi3Block{
    Rename{"attn_norm", "input_layernorm"},    Rename{"attn_qkv", "self_attn.qkv_proj"},
    Rename{"attn_output", "self_attn.o_proj"}, Rename{"ffn_norm", "post_attention_layernorm"},
    Rename{"ffn_up", "mlp.gate_up_proj"},      Rename{"ffn_down", "mlp.down_proj"},
};
constexpr std::array kGpt2Block{
    Rename{"attn_norm", "ln_1"},          Rename{"attn_qkv", "attn.c_attn"}, Rename{"attn_output", "attn.c_proj"},
    Rename{"ffn_norm", "ln_2"},           Rename{"ffn_up", "mlp.c_fc"},      Rename{"ffn_down", "mlp.c_proj"},
};
constexpr std::array kLlamaGlobal{
    Rename{"token_embd", "embed_tokens"}, Rename{"output_norm", "norm"}, Rename{"output", "lm_head"},
};
constexpr std::array kGpt2Global{
    Rename{"token_embd", "wte"}, Rename{"position_embd", "wpe"}, Rename{"output_norm", "ln_f"}, Rename{"output", "lm_head"},
};

struct Family {
  std::string_view block_prefix;  // Hugging Face's name for the block list
  const Rename* block;
  std::size_t block_count;
  const Rename* global;
  std::size_t global_count;
};

std::optional<Family> family_of(const std::string& architecture) {
  if (architecture == "llama" || architecture == "mistral" || architecture == "qwen2" || architecture == "qwen3" ||
      architecture == "gemma")
    return Family{"layers", kLlamaBlock.data(), kLlamaBlock.size(), kLlamaGlobal.data(), kLlamaGlobal.size()};
  if (architecture == "phi3")
    return Family{"layers", kPhi3Block.data(), kPhi3Block.size(), kLlamaGlobal.data(), kLlamaGlobal.size()};
  if (architecture == "gpt2")
    return Family{"h", kGpt2Block.data(), kGpt2Block.size(), kGpt2Global.data(), kGpt2Global.size()};
  return std::nullopt;
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// "<base>.weight" -> {"<base>", ".weight"}; the suffix is empty for others.
std::pair<std::string, std::string> split_parameter(const std::string& name) {
  for (std::string_view suffix : {".weight", ".bias"})
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      return {name.substr(0, name.size() - suffix.size()), std::string(suffix)};
  return {name, ""};
}

std::optional<std::string> from_gguf(const Family& f, const std::string& name) {
  static const std::regex kBlock(R"(blk\.(\d+)\.(.+))");
  const auto [base, suffix] = split_parameter(name);
  std::smatch m;
  if (std::regex_match(base, m, kBlock)) {
    for (std::size_t k = 0; k < f.block_count; ++k)
      if (m[2].str() == f.block[k].gguf)
        return std::string(f.block_prefix) + "." + m[1].str() + "." + std::string(f.block[k].hugging_face) + suffix;
    return std::nullopt;
  }
  for (std::size_t k = 0; k < f.global_count; ++k)
    if (base == f.global[k].gguf) return std::string(f.global[k].hugging_face) + suffix;
  return std::nullopt;
}

int64_t metadata_count(const io::TensorStore& store, const std::string& key) {
  const auto it = store.metadata().find(key);
  return it != store.metadata().end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

std::optional<std::string> to_gguf(const Family& f, const std::string& name) {
  const auto [base, suffix] = split_parameter(name);
  const std::string block_pattern = std::string(f.block_prefix) + ".";
  if (base.compare(0, block_pattern.size(), block_pattern) == 0) {
    const std::string rest = base.substr(block_pattern.size());
    const auto dot = rest.find('.');
    if (dot == 0 || dot == std::string::npos || rest.find_first_not_of("0123456789") != dot) return std::nullopt;
    for (std::size_t k = 0; k < f.block_count; ++k)
      if (rest.substr(dot + 1) == f.block[k].hugging_face)
        return "blk." + rest.substr(0, dot) + "." + std::string(f.block[k].gguf) + suffix;
    return std::nullopt;
  }
  for (std::size_t k = 0; k < f.global_count; ++k)
    if (base == f.global[k].hugging_face) return std::string(f.global[k].gguf) + suffix;
  return std::nullopt;
}

}  // namespace

std::optional<std::string> gguf_name(const std::string& architecture, const std::string& hugging_face_name) {
  const auto family = family_of(architecture);
  if (!family) return std::nullopt;
  return to_gguf(*family, hugging_face_name);
}

std::string gguf_architecture(const io::TensorStore& store) {
  if (store.format() != io::Format::GGUF) return "";
  const auto it = store.metadata().find("general.architecture");
  return it != store.metadata().end() && it->is_string() ? it->get<std::string>() : "";
}

std::string ecosystem_name(const io::TensorStore& store, const std::string& name) {
  constexpr std::string_view kFirstOutput = ":0";  // TensorFlow names a tensor by the op output it is
  if (name.size() > kFirstOutput.size() && name.compare(name.size() - kFirstOutput.size(), kFirstOutput.size(), kFirstOutput) == 0)
    return name.substr(0, name.size() - kFirstOutput.size());
  if (const auto family = family_of(gguf_architecture(store))) {
    if (auto mapped = from_gguf(*family, name)) return *mapped;
    return name;
  }
  for (std::string_view prefix : {"model.", "transformer."})
    if (starts_with(name, prefix)) return name.substr(prefix.size());
  return name;
}

int64_t rotary_stored_row(int64_t row, int64_t rows, int64_t heads) {
  const int64_t head_rows = rows / heads, half = head_rows / 2;
  const int64_t head = row / head_rows, within = row % head_rows;
  const int64_t which_half = within / half, position = within % half;
  return head * head_rows + position * 2 + which_half;
}

std::optional<std::vector<int64_t>> rotary_stored_rows(const io::TensorStore& store, const io::TensorInfo& tensor) {
  // convert_hf_to_gguf.py's LlamaModel permutes; Qwen2, Gemma, Phi-3 and
  // GPT-2 keep Hugging Face's rows (their rotary kernels are NeoX-style).
  if (gguf_architecture(store) != "llama" || tensor.shape.empty()) return std::nullopt;
  const auto [base, suffix] = split_parameter(tensor.name);
  const bool q = base.size() > 7 && base.compare(base.size() - 7, 7, ".attn_q") == 0;
  const bool k = base.size() > 7 && base.compare(base.size() - 7, 7, ".attn_k") == 0;
  if (!q && !k) return std::nullopt;
  const int64_t query_heads = metadata_count(store, "llama.attention.head_count");
  const int64_t kv_heads = metadata_count(store, "llama.attention.head_count_kv");
  const int64_t heads = k && kv_heads > 0 ? kv_heads : query_heads;
  const int64_t rows = tensor.shape[0];
  if (heads <= 0 || rows % heads != 0 || (rows / heads) % 2 != 0) return std::nullopt;
  std::vector<int64_t> stored(static_cast<std::size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) stored[static_cast<std::size_t>(r)] = rotary_stored_row(r, rows, heads);
  return stored;
}

}  // namespace modeldna::io
