#include "fused_projections.h"

#include <map>
#include <numeric>
#include <string>
#include <vector>

namespace modeldna::compare::detail {
namespace {

// Phi-3's fused projections as Hugging Face names them (io/ecosystem_names.h maps
// llama.cpp's phi3 `attn_qkv` and `ffn_up` to them), and the parts they
// stack, in their order.
struct Fusion {
  const char* fused;
  std::vector<const char*> parts;
};
const std::vector<Fusion>& fusions() {
  static const std::vector<Fusion> table = {
      {"self_attn.qkv_proj.weight", {"self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight"}},
      {"mlp.gate_up_proj.weight", {"mlp.gate_proj.weight", "mlp.up_proj.weight"}},
  };
  return table;
}

const Fusion* fusion_of(const std::string& match_name) {
  for (const auto& f : fusions())
    if (match_name.size() >= std::string(f.fused).size() &&
        match_name.compare(match_name.size() - std::string(f.fused).size(), std::string::npos, f.fused) == 0)
      return &f;
  return nullptr;
}

}  // namespace

bool split_fused_projections(std::vector<Candidate>& fused_side, const std::vector<Candidate>& split_side) {
  std::map<std::string, const Candidate*> by_name;
  for (const auto& c : split_side) by_name.emplace(c.match_name, &c);
  std::vector<Candidate> out;
  bool any = false;
  for (auto& c : fused_side) {
    const auto* fusion = fusion_of(c.match_name);
    const auto& s = c.shape;
    if (!fusion || s.output_head || !s.stored_unit.empty() || s.dims.size() != 2) {
      out.push_back(std::move(c));
      continue;
    }
    const std::string prefix = c.match_name.substr(0, c.match_name.size() - std::string(fusion->fused).size());
    std::vector<const Candidate*> parts;
    int64_t rows = 0;
    for (const char* name : fusion->parts) {
      const auto it = by_name.find(prefix + name);
      if (it == by_name.end() || it->second->shape.dims.size() != 2 || it->second->shape.dims[1] != s.dims[1]) break;
      parts.push_back(it->second);
      rows += it->second->shape.dims[0];
    }
    if (parts.size() != fusion->parts.size() || rows != s.dims[0]) {
      out.push_back(std::move(c));
      continue;
    }
    int64_t offset = 0;
    for (std::size_t k = 0; k < parts.size(); ++k) {
      Candidate part = c;
      const int64_t n = parts[k]->shape.dims[0];
      part.match_name = parts[k]->match_name;
      part.name = c.name + "[" + std::to_string(offset) + ":" + std::to_string(offset + n) + "]";
      part.shape.stored_unit.resize(static_cast<std::size_t>(n));
      std::iota(part.shape.stored_unit.begin(), part.shape.stored_unit.end(), offset);
      part.shape.dims[0] = n;
      part.shape.units = n;
      part.fused_split = true;
      out.push_back(std::move(part));
      offset += n;
    }
    any = true;
  }
  for (std::size_t k = 0; k < out.size(); ++k) out[k].order = k;
  fused_side = std::move(out);
  return any;
}

}  // namespace modeldna::compare::detail
