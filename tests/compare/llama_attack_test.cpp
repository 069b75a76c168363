// Function-preserving attacks on the tiny Llama (fixtures/llama/base), built
// here and checked to leave its logits unchanged by a plain forward pass:
// a rotation of the residual stream (RMSNorm gains folded first, as SliceGPT
// does), and a relabelling of every block's MLP units (with per-unit scaling
// of up and down) and attention heads. compare sees through each with its
// geometry tests (docs/compare.md, section 6): derived at p < 1e-10, the
// transform named in the layer map.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <numeric>
#include <random>

#include "modeldna/compare/compare.h"
#include "modeldna/io/open_store.h"
#include "modeldna/io/safetensors.h"
#include "test_support.h"

namespace modeldna::compare {
namespace {

// fixtures/llama/base/config.json
constexpr int kHidden = 256, kFfn = 256, kLayers = 12, kHeads = 4, kKvHeads = 2, kHeadDim = 64, kVocab = 512;
constexpr double kEps = 1e-5, kRopeTheta = 10000.0;

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> v;
  float& at(int64_t i, int64_t j) { return v[static_cast<std::size_t>(i * shape[1] + j)]; }
  float at(int64_t i, int64_t j) const { return v[static_cast<std::size_t>(i * shape[1] + j)]; }
};
using Model = std::map<std::string, Tensor>;

std::string layer(int l, const std::string& rest) { return "model.layers." + std::to_string(l) + "." + rest + ".weight"; }

Model load_base() {
  const auto store = io::open_store(std::string(MODELDNA_SOURCE_DIR) + "/tests/compare/fixtures/llama/base/model.safetensors");
  Model m;
  for (const auto& t : store.tensors()) m[t.name] = Tensor{t.shape, store.read_f32(t)};
  return m;
}

std::string write(const Model& m, const std::string& dir) {
  std::vector<io::TensorToWrite> out;
  for (const auto& [name, t] : m) out.push_back({name, io::DType::F32, t.shape, t.v.data(), t.v.size() * sizeof(float)});
  const std::string path = dir + "/model.safetensors";
  io::write_safetensors(path, out);
  return path;
}

// y = W x for W [rows, cols].
std::vector<double> times(const Tensor& w, const std::vector<double>& x) {
  std::vector<double> y(static_cast<std::size_t>(w.shape[0]), 0.0);
  for (int64_t i = 0; i < w.shape[0]; ++i)
    for (int64_t j = 0; j < w.shape[1]; ++j) y[static_cast<std::size_t>(i)] += w.at(i, j) * x[static_cast<std::size_t>(j)];
  return y;
}

std::vector<double> rms_norm(const std::vector<double>& x, const Tensor& gain) {
  double ss = 0;
  for (double v : x) ss += v * v;
  const double scale = 1.0 / std::sqrt(ss / static_cast<double>(x.size()) + kEps);
  std::vector<double> y(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = x[i] * scale * gain.v[i];
  return y;
}

// Hugging Face's rotary embedding (rotate_half) on each head of `x`.
void rotary(std::vector<double>& x, int heads, int position) {
  for (int h = 0; h < heads; ++h)
    for (int i = 0; i < kHeadDim / 2; ++i) {
      const double angle = position * std::pow(kRopeTheta, -2.0 * i / kHeadDim);
      double& a = x[static_cast<std::size_t>(h * kHeadDim + i)];
      double& b = x[static_cast<std::size_t>(h * kHeadDim + i + kHeadDim / 2)];
      const double a0 = a, b0 = b;
      a = a0 * std::cos(angle) - b0 * std::sin(angle);
      b = b0 * std::cos(angle) + a0 * std::sin(angle);
    }
}

// LlamaForCausalLM's logits at every position, in double.
std::vector<std::vector<double>> logits(Model& m, const std::vector<int>& tokens) {
  const std::size_t n = tokens.size();
  std::vector<std::vector<double>> x(n);
  for (std::size_t t = 0; t < n; ++t)
    for (int j = 0; j < kHidden; ++j) x[t].push_back(m["model.embed_tokens.weight"].at(tokens[t], j));
  for (int l = 0; l < kLayers; ++l) {
    std::vector<std::vector<double>> q(n), k(n), v(n);
    for (std::size_t t = 0; t < n; ++t) {
      const auto h = rms_norm(x[t], m[layer(l, "input_layernorm")]);
      q[t] = times(m[layer(l, "self_attn.q_proj")], h);
      k[t] = times(m[layer(l, "self_attn.k_proj")], h);
      v[t] = times(m[layer(l, "self_attn.v_proj")], h);
      rotary(q[t], kHeads, static_cast<int>(t));
      rotary(k[t], kKvHeads, static_cast<int>(t));
    }
    for (std::size_t t = 0; t < n; ++t) {
      std::vector<double> attended(static_cast<std::size_t>(kHeads * kHeadDim), 0.0);
      for (int h = 0; h < kHeads; ++h) {
        const int g = h / (kHeads / kKvHeads);
        std::vector<double> score(t + 1);
        for (std::size_t s = 0; s <= t; ++s) {
          for (int d = 0; d < kHeadDim; ++d) score[s] += q[t][h * kHeadDim + d] * k[s][g * kHeadDim + d];
          score[s] /= std::sqrt(static_cast<double>(kHeadDim));
        }
        const double top = *std::max_element(score.begin(), score.end());
        double total = 0;
        for (double& e : score) total += (e = std::exp(e - top));
        for (std::size_t s = 0; s <= t; ++s)
          for (int d = 0; d < kHeadDim; ++d) attended[h * kHeadDim + d] += score[s] / total * v[s][g * kHeadDim + d];
      }
      const auto o = times(m[layer(l, "self_attn.o_proj")], attended);
      for (int j = 0; j < kHidden; ++j) x[t][j] += o[j];
      const auto h = rms_norm(x[t], m[layer(l, "post_attention_layernorm")]);
      auto gate = times(m[layer(l, "mlp.gate_proj")], h);
      const auto up = times(m[layer(l, "mlp.up_proj")], h);
      for (std::size_t i = 0; i < gate.size(); ++i) gate[i] = gate[i] / (1 + std::exp(-gate[i])) * up[i];
      const auto down = times(m[layer(l, "mlp.down_proj")], gate);
      for (int j = 0; j < kHidden; ++j) x[t][j] += down[j];
    }
  }
  std::vector<std::vector<double>> out;
  for (std::size_t t = 0; t < n; ++t) out.push_back(times(m["lm_head.weight"], rms_norm(x[t], m["model.norm.weight"])));
  return out;
}

// The largest logit change, relative to the largest logit.
double logit_change(Model& a, Model& b) {
  const std::vector<int> tokens = {1, 57, 300, 12, 499, 7, 256, 88};
  const auto x = logits(a, tokens), y = logits(b, tokens);
  double diff = 0, scale = 0;
  for (std::size_t t = 0; t < x.size(); ++t)
    for (std::size_t i = 0; i < x[t].size(); ++i) {
      diff = std::max(diff, std::abs(x[t][i] - y[t][i]));
      scale = std::max(scale, std::abs(x[t][i]));
    }
  return diff / scale;
}

// W <- W diag(g), the gain set to 1.
void fold_gain(Model& m, const std::string& gain, const std::vector<std::string>& readers) {
  auto& g = m[gain];
  for (const auto& name : readers) {
    auto& w = m[name];
    for (int64_t i = 0; i < w.shape[0]; ++i)
      for (int64_t j = 0; j < w.shape[1]; ++j) w.at(i, j) *= g.v[static_cast<std::size_t>(j)];
  }
  std::fill(g.v.begin(), g.v.end(), 1.0f);
}

// Inputs x -> R x: readers W -> W R^T, writers W -> R W, the embedding rows e -> R e.
void rotate_residual(Model& m, uint64_t seed) {
  for (int l = 0; l < kLayers; ++l) {
    fold_gain(m, layer(l, "input_layernorm"), {layer(l, "self_attn.q_proj"), layer(l, "self_attn.k_proj"), layer(l, "self_attn.v_proj")});
    fold_gain(m, layer(l, "post_attention_layernorm"), {layer(l, "mlp.gate_proj"), layer(l, "mlp.up_proj")});
  }
  fold_gain(m, "model.norm.weight", {"lm_head.weight"});
  std::mt19937_64 rng(seed);
  const auto r = testing::random_orthogonal(kHidden, rng);
  auto rotate_inputs = [&](Tensor& w) {  // W R^T
    Tensor out = w;
    for (int64_t i = 0; i < w.shape[0]; ++i)
      for (int j = 0; j < kHidden; ++j) {
        double s = 0;
        for (int k = 0; k < kHidden; ++k) s += w.at(i, k) * r[j * kHidden + k];
        out.at(i, j) = static_cast<float>(s);
      }
    w = out;
  };
  auto rotate_units = [&](Tensor& w) {  // R W
    Tensor out = w;
    for (int i = 0; i < kHidden; ++i)
      for (int64_t j = 0; j < w.shape[1]; ++j) {
        double s = 0;
        for (int k = 0; k < kHidden; ++k) s += r[i * kHidden + k] * w.at(k, j);
        out.at(i, j) = static_cast<float>(s);
      }
    w = out;
  };
  rotate_inputs(m["model.embed_tokens.weight"]);
  rotate_inputs(m["lm_head.weight"]);
  for (int l = 0; l < kLayers; ++l) {
    for (const char* reader : {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "mlp.gate_proj", "mlp.up_proj"})
      rotate_inputs(m[layer(l, reader)]);
    for (const char* writer : {"self_attn.o_proj", "mlp.down_proj"}) rotate_units(m[layer(l, writer)]);
  }
}

std::vector<int> shuffled(int n, std::mt19937_64& rng) {
  std::vector<int> p(static_cast<std::size_t>(n));
  std::iota(p.begin(), p.end(), 0);
  std::shuffle(p.begin(), p.end(), rng);
  return p;
}

// new row i = old row p[i] (and the same for columns with permute_columns).
void permute_rows(Tensor& w, const std::vector<int>& p) {
  Tensor out = w;
  for (std::size_t i = 0; i < p.size(); ++i)
    for (int64_t j = 0; j < w.shape[1]; ++j) out.at(static_cast<int64_t>(i), j) = w.at(p[i], j);
  w = out;
}
void permute_columns(Tensor& w, const std::vector<int>& p) {
  Tensor out = w;
  for (int64_t i = 0; i < w.shape[0]; ++i)
    for (std::size_t j = 0; j < p.size(); ++j) out.at(i, static_cast<int64_t>(j)) = w.at(i, p[j]);
  w = out;
}

// Every block: MLP units relabelled, up's rows scaled by c > 0 and down's
// columns by 1/c; key-value heads relabelled with their query heads, and the
// query heads within each group relabelled.
void relabel_blocks(Model& m, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> scale(0.5, 2.0);
  for (int l = 0; l < kLayers; ++l) {
    const auto units = shuffled(kFfn, rng);
    permute_rows(m[layer(l, "mlp.gate_proj")], units);
    permute_rows(m[layer(l, "mlp.up_proj")], units);
    permute_columns(m[layer(l, "mlp.down_proj")], units);
    for (int i = 0; i < kFfn; ++i) {
      const double c = scale(rng);
      for (int j = 0; j < kHidden; ++j) m[layer(l, "mlp.up_proj")].at(i, j) *= static_cast<float>(c);
      for (int j = 0; j < kHidden; ++j) m[layer(l, "mlp.down_proj")].at(j, i) /= static_cast<float>(c);
    }
    const auto kv = shuffled(kKvHeads, rng);
    std::vector<int> q_heads;
    for (int g : kv) {
      const auto within = shuffled(kHeads / kKvHeads, rng);
      for (int w : within) q_heads.push_back(g * (kHeads / kKvHeads) + w);
    }
    auto rows_of = [](const std::vector<int>& heads) {
      std::vector<int> rows;
      for (int h : heads)
        for (int d = 0; d < kHeadDim; ++d) rows.push_back(h * kHeadDim + d);
      return rows;
    };
    permute_rows(m[layer(l, "self_attn.q_proj")], rows_of(q_heads));
    permute_rows(m[layer(l, "self_attn.k_proj")], rows_of(kv));
    permute_rows(m[layer(l, "self_attn.v_proj")], rows_of(kv));
    permute_columns(m[layer(l, "self_attn.o_proj")], rows_of(q_heads));
  }
}

class LlamaAttack : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { base_ = new Model(load_base()); }
  static void TearDownTestSuite() { delete base_; }
  static Model* base_;
  std::string dir_ = testing::fresh_temp_dir();
};
Model* LlamaAttack::base_ = nullptr;

std::string base_path() { return std::string(MODELDNA_SOURCE_DIR) + "/tests/compare/fixtures/llama/base/model.safetensors"; }

int count_undone(const CompareResult& r, Undone u) {
  return static_cast<int>(std::count_if(r.layers.begin(), r.layers.end(), [&](const LayerResult& l) {
    return std::count(l.undone.begin(), l.undone.end(), u) > 0;
  }));
}

TEST_F(LlamaAttack, ARotatedResidualStreamIsSeenThrough) {
  Model attacked = *base_;
  rotate_residual(attacked, 7);
  EXPECT_LT(logit_change(*base_, attacked), 1e-5);
  const auto r = compare_weights(io::open_store(base_path()), io::open_store(write(attacked, dir_)), {});
  EXPECT_EQ(r.verdict, Verdict::Derived);
  EXPECT_LT(r.log10_p, -10);
  EXPECT_EQ(r.relation, Relation::Transformed) << relation_name(r.relation);
  std::cout << "rotated: p = " << p_value_text(r.log10_p) << ", " << r.timings["white_box_ms"].get<double>() << " ms\n";
  // gate and up seen through their rotated inputs, down through its rotated
  // units; Q, K, V, O and the token tables have no exact test under a
  // rotation (docs/compare.md, section 6) and stay "new".
  EXPECT_EQ(count_undone(r, Undone::InputsRotated), 2 * kLayers);
  EXPECT_EQ(count_undone(r, Undone::UnitsRotated), kLayers);
  for (const auto& l : r.layers)
    if (l.test != LayerTest::MatchedUnits) {
      EXPECT_EQ(l.verdict, LayerVerdict::FromSource) << l.target;
    }
}

TEST_F(LlamaAttack, RelabelledMlpUnitsAndHeadsAreSeenThrough) {
  Model attacked = *base_;
  relabel_blocks(attacked, 11);
  EXPECT_LT(logit_change(*base_, attacked), 1e-5);
  const auto r = compare_weights(io::open_store(base_path()), io::open_store(write(attacked, dir_)), {});
  EXPECT_EQ(r.verdict, Verdict::Derived);
  EXPECT_LT(r.log10_p, -10);
  EXPECT_EQ(r.relation, Relation::Transformed) << relation_name(r.relation);
  std::cout << "relabelled: p = " << p_value_text(r.log10_p) << ", " << r.timings["white_box_ms"].get<double>() << " ms\n";
  // Every block tensor comes from the source; gate, up and down (always
  // relabelled) through a geometry test, Q, K, V, O when their heads moved.
  int seen_through = 0;
  for (const auto& l : r.layers) {
    EXPECT_EQ(l.verdict, LayerVerdict::FromSource) << l.target;
    seen_through += l.test != LayerTest::MatchedUnits;
  }
  EXPECT_GE(seen_through, 3 * kLayers);
}


// Q, K and V fused into one `qkv_proj` per block, rows stacked Q first, and
// gate and up into one `gate_up_proj`, as Phi-3 stores them (transformers'
// Phi3Attention and Phi3MLP): the same weights in another layout, and only
// shapes say how to split them.
Model fused_like_phi3(const Model& m) {
  Model out = m;
  for (int l = 0; l < kLayers; ++l) {
    auto fuse = [&](const std::string& into, const std::vector<std::string>& parts) {
      Tensor fused{{0, kHidden}, {}};
      for (const auto& part : parts) {
        const auto& t = m.at(layer(l, part));
        fused.shape[0] += t.shape[0];
        fused.v.insert(fused.v.end(), t.v.begin(), t.v.end());
        out.erase(layer(l, part));
      }
      out[layer(l, into)] = std::move(fused);
    };
    fuse("self_attn.qkv_proj", {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"});
    fuse("mlp.gate_up_proj", {"mlp.gate_proj", "mlp.up_proj"});
  }
  return out;
}

TEST_F(LlamaAttack, Phi3StyleFusedProjectionsAreAConversion) {
  const auto fused_path = write(fused_like_phi3(*base_), dir_);
  for (const bool fused_target : {true, false}) {
    const auto r = fused_target ? compare_weights(io::open_store(base_path()), io::open_store(fused_path), {})
                                : compare_weights(io::open_store(fused_path), io::open_store(base_path()), {});
    EXPECT_EQ(r.verdict, Verdict::Derived);
    EXPECT_EQ(r.relation, Relation::Converted) << relation_name(r.relation);
    EXPECT_EQ(count_undone(r, Undone::FusedProjection), 5 * kLayers);
    for (const auto& l : r.layers) EXPECT_EQ(l.verdict, LayerVerdict::FromSource) << l.target;
  }
  // Fused or not, an independent model stays independent: the split looks
  // at names and shapes only.
  const auto scratch = std::string(MODELDNA_SOURCE_DIR) + "/tests/compare/fixtures/llama/scratch-q8_0.gguf";
  const auto r = compare_weights(io::open_store(scratch), io::open_store(fused_path), {});
  EXPECT_NE(r.verdict, Verdict::Derived) << p_value_text(r.log10_p);
  EXPECT_EQ(count_undone(r, Undone::FusedProjection), 5 * kLayers);
}

}  // namespace
}  // namespace modeldna::compare
