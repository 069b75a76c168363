// safetensors (any producer, sharded), PyTorch zip checkpoints and GGUF read
// through open_store, against the values their generation script recorded
// (fixtures/gen_checkpoint_fixtures.py: torch.save wrote the .pt files).
#include <filesystem>
#include <fstream>

#include "modeldna/core/error.h"
#include "modeldna/io/open_store.h"
#include "modeldna/io/safetensors.h"
#include "modeldna/io/vocabulary.h"
#include "modeldna/core/json_file.h"
#include "store_fixtures.h"
#include "test_support.h"

namespace modeldna::io {
namespace {

using testing::expect_values;
using testing::fixture;

TEST(SafetensorsStore, EveryDTypeOfTheSpec) {
  const auto store = open_store(fixture("all_dtypes.safetensors"));
  EXPECT_EQ(store.format(), Format::Safetensors);
  EXPECT_EQ(store.metadata()["producer"], "gen_checkpoint_fixtures.py");
  expect_values(store, "expected_all_dtypes.json");
  EXPECT_EQ(store.find("e4m3")->dtype, DType::F8_E4M3);
  EXPECT_EQ(store.find("u64")->dtype, DType::U64);
}

// Hugging Face GPT-2 stores its Conv1D weights [in, out]; CLIP's c_fc and
// c_proj are Linear, [out, in].
TEST(SafetensorsStore, Gpt2sConv1DWeightsAreInputMajor) {
  const std::string path = modeldna::testing::fresh_temp_dir() + "/gpt2.safetensors";
  const std::vector<float> v(12, 0.5f);
  std::vector<TensorToWrite> w;
  for (const char* name : {"transformer.h.0.attn.c_attn.weight", "h.11.mlp.c_proj.weight",
                           "visual.transformer.resblocks.0.mlp.c_fc.weight", "transformer.h.0.attn.c_attn.bias"})
    w.push_back({name, DType::F32, std::string(name).find("bias") == std::string::npos ? std::vector<int64_t>{3, 4} : std::vector<int64_t>{12},
                 v.data(), v.size() * sizeof(float)});
  write_safetensors(path, w);
  const auto store = open_store(path);
  EXPECT_EQ(store.find("transformer.h.0.attn.c_attn.weight")->layout, Layout::IO);
  EXPECT_EQ(store.find("h.11.mlp.c_proj.weight")->layout, Layout::IO);
  EXPECT_EQ(store.find("visual.transformer.resblocks.0.mlp.c_fc.weight")->layout, Layout::OI);
  EXPECT_EQ(store.find("transformer.h.0.attn.c_attn.bias")->role, Role::Bias);
}

TEST(SafetensorsStore, ShardedCheckpointFromTheIndexOrItsFolder) {
  for (const std::string& path : {fixture("sharded/model.safetensors.index.json"), fixture("sharded")}) {
    const auto store = open_store(path);
    EXPECT_EQ(store.tensors().size(), 3u);
    EXPECT_EQ(store.files().size(), 3u);  // the index and two shards
    EXPECT_EQ(store.read_f32(*store.find("layer0.weight")), (std::vector<float>{0, 1, 2, 3, 4, 5}));
    EXPECT_EQ(store.read_f32(*store.find("layer1.weight")), (std::vector<float>{1.5f, 2.0f}));
    EXPECT_EQ(store.metadata()["total_size"], 34);
  }
}

class ShardedIndex : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = modeldna::testing::fresh_temp_dir();
    for (const char* shard : {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"})
      std::filesystem::copy_file(fixture(std::string("sharded/") + shard), dir_ + "/" + shard);
  }
  std::string index(const std::string& json) {
    const std::string path = dir_ + "/model.safetensors.index.json";
    modeldna::testing::write_bytes(path, json);
    return path;
  }
  std::string dir_;
};

TEST_F(ShardedIndex, RefusesAShardOutsideTheFolder) {
  EXPECT_THROW_MSG(open_store(index(R"({"weight_map": {"a": "../x.safetensors"}})")), FormatError,
                   "shards must lie in the index's folder");
}

TEST_F(ShardedIndex, RefusesAMissingShard) {
  EXPECT_THROW_MSG(open_store(index(R"({"weight_map": {"a": "gone.safetensors"}})")), FormatError,
                   "gone.safetensors: cannot open file");
}

TEST_F(ShardedIndex, RefusesATensorTheShardLacks) {
  EXPECT_THROW_MSG(open_store(index(R"({"weight_map": {"layer0.weight": "model-00001-of-00002.safetensors",
    "layer0.bias": "model-00001-of-00002.safetensors", "layer1.weight": "model-00002-of-00002.safetensors",
    "layer9.weight": "model-00002-of-00002.safetensors"}})")),
                   FormatError, "'layer9.weight' named by the index is missing from this shard");
}

TEST_F(ShardedIndex, RefusesATensorTheIndexDoesNotName) {
  EXPECT_THROW_MSG(open_store(index(R"({"weight_map": {"layer0.weight": "model-00001-of-00002.safetensors",
    "layer1.weight": "model-00002-of-00002.safetensors"}})")),
                   FormatError, "'layer0.bias' is not in the index's weight_map");
}

TEST_F(ShardedIndex, RefusesDuplicateKeys) {
  EXPECT_THROW_MSG(open_store(index(R"({"weight_map": {"a": "x", "a": "y"}})")), FormatError, "duplicate JSON key 'a'");
}

TEST(PyTorchStore, StateDictWrittenByTorchSave) {
  const auto store = open_store(fixture("state_dict.pt"));
  EXPECT_EQ(store.format(), Format::PyTorch);
  expect_values(store, "expected_state_dict.json");
  EXPECT_EQ(store.find("conv.weight")->layout, Layout::OIHW);
  EXPECT_EQ(store.find("fc.weight")->role, Role::Weight);
  EXPECT_EQ(store.find("bn.running_mean")->role, Role::RunningStat);
  EXPECT_EQ(store.find("bn.num_batches_tracked")->dtype, DType::I64);
}

TEST(PyTorchStore, NestedCheckpointKeysJoinWithDots) {
  const auto store = open_store(fixture("checkpoint_nested.pt"));
  expect_values(store, "expected_checkpoint_nested.json");
  EXPECT_EQ(store.find("optimizer.state.0.exp_avg")->role, Role::Optimizer);
  EXPECT_EQ(store.find("model.fc.weight")->role, Role::Weight);
  EXPECT_EQ(store.metadata()["epoch"], 3);
  // Parameters count the model's learned tensors, not the optimizer state.
  const auto summary = summarize(store);
  EXPECT_EQ(summary.parameters, 3 * 9 + 3 + 3 + 3 + 12 * 4 + 4);
}

TEST(PyTorchStore, LightningStateDict) {
  const auto store = open_store(fixture("lightning.ckpt"));
  expect_values(store, "expected_lightning.json");
  EXPECT_EQ(store.metadata()["global_step"], 10);
  EXPECT_EQ(store.metadata()["pytorch-lightning_version"], "1.9.0");
}

TEST(PyTorchStore, SharedStoragesViewsAndEveryDType) {
  const auto store = open_store(fixture("views_and_dtypes.pt"));
  expect_values(store, "expected_views_and_dtypes.json");
  const TensorInfo& transposed = *store.find("transposed");
  EXPECT_FALSE(transposed.contiguous());
  EXPECT_EQ(transposed.strides, (std::vector<int64_t>{1, 6}));
  EXPECT_EQ(store.find("base")->blob, store.find("strided")->blob);  // one storage, several views
}

TEST(PyTorchStore, RefusesToRunCode) {
  EXPECT_THROW_MSG(open_store(fixture("evil_os_system.pt")), FormatError,
                   "pickle asks for 'posix.system'; refusing to execute code from a model file");
  EXPECT_THROW_MSG(open_store(fixture("evil_stack_global.pt")), FormatError,
                   "pickle asks for 'builtins.eval'; refusing to execute code");
  EXPECT_THROW_MSG(open_store(fixture("evil_inst.pt")), FormatError,
                   "pickle asks for 'subprocess.Popen' (INST); refusing to execute code");
  EXPECT_THROW_MSG(open_store(fixture("evil_reduce_class.pt")), FormatError,
                   "pickle calls 'torch.Tensor', which is not a function it may call");
  EXPECT_THROW_MSG(open_store(fixture("evil_build.pt")), FormatError, "BUILD of something that is not a dict or tensor");
}

TEST(PyTorchStore, RefusesStoragesThatDoNotFit) {
  EXPECT_THROW_MSG(open_store(fixture("missing_storage.pt")), FormatError, "needs storage '0', which the archive lacks");
  EXPECT_THROW_MSG(open_store(fixture("short_storage.pt")), FormatError,
                   "storage '0' declares 16 bytes but its entry holds 8");
}

TEST(GgufStore, EveryDTypeDequantizedLikeTheReference) {
  const auto store = open_store(fixture("all_types.gguf"));
  EXPECT_EQ(store.format(), Format::GGUF);
  // Values from the fixture script's own dequantizer, written from ggml's
  // formulas: equal up to float rounding order.
  expect_values(store, "expected_all_types_gguf.json", 1e-6);
  // Dimensions come out in PyTorch order.
  EXPECT_EQ(store.find("blk.0.q8_0.weight")->shape, (std::vector<int64_t>{2, 64}));
  EXPECT_EQ(store.find("blk.1.q4_k.weight")->dtype, DType::Q4_K);
  EXPECT_EQ(store.find("blk.1.q4_k.weight")->layout, Layout::OI);
}

TEST(GgufStore, QuantizedValuesStayWithinTheSchemesError) {
  const auto store = open_store(fixture("all_types.gguf"));
  const auto doc = read_json_file(fixture("expected_all_types_gguf.json"));
  // Half a quantization step of the block's range, per scheme (the
  // fixture's quantizers round to nearest).
  const std::map<std::string, double> steps = {{"blk.0.q8_0.weight", 1.0 / 127}, {"blk.0.q4_0.weight", 1.0 / 8},
                                               {"blk.0.q4_1.weight", 1.0 / 15}, {"blk.0.q5_0.weight", 1.0 / 16},
                                               {"blk.0.q5_1.weight", 1.0 / 31}, {"blk.1.q8_k.weight", 1.0 / 127}};
  for (const auto& [name, step] : steps) {
    SCOPED_TRACE(name);
    const auto original = doc[name]["original"].get<std::vector<double>>();
    const auto got = store.read_f32(*store.find(name));
    for (std::size_t block = 0; block < original.size(); block += 32) {
      double amax = 0;
      for (std::size_t i = block; i < block + 32; ++i) amax = std::max(amax, std::abs(original[i]));
      for (std::size_t i = block; i < block + 32; ++i) EXPECT_NEAR(got[i], original[i], amax * step + 2e-3 * amax);
    }
  }
}

// The tiny Llama's tokenizer.model (tests/compare/fixtures/llama), read by
// our SentencePiece reader, against the tokens llama.cpp's converter wrote
// into the GGUF from the same file with the sentencepiece library.
TEST(Vocabulary, TheSentencePieceModelBesideACheckpointIsTheTokensLlamaCppWrote) {
  const std::string dir = std::string(MODELDNA_SOURCE_DIR) + "/tests/compare/fixtures/llama/";
  const auto from_sentencepiece = vocabulary(open_store(dir + "base/model.safetensors"));
  const auto from_gguf = vocabulary(open_store(dir + "base-q8_0.gguf"));
  ASSERT_TRUE(from_sentencepiece);
  ASSERT_TRUE(from_gguf);
  EXPECT_EQ(from_sentencepiece->size(), 512u);
  EXPECT_EQ(*from_sentencepiece, *from_gguf);
  EXPECT_EQ(vocabulary(open_store(dir + "vocab-extended-q8_0.gguf"))->size(), 528u);
  EXPECT_FALSE(vocabulary(open_store(fixture("all_dtypes.safetensors"))));  // no tokenizer beside it

  // A truncated or foreign tokenizer.model is refused, naming the file.
  const auto bytes = read_file(dir + "base/tokenizer.model");
  for (std::size_t n : {std::size_t{3}, bytes.size() / 2, bytes.size() - 1}) {
    const std::string bad = bytes.substr(0, n);
    EXPECT_THROW_MSG(sentencepiece_pieces("tok.model", reinterpret_cast<const std::byte*>(bad.data()), bad.size()),
                     FormatError, "tok.model: ");
  }
  const std::string text = "not a protobuf at all";
  EXPECT_THROW(sentencepiece_pieces("tok.model", reinterpret_cast<const std::byte*>(text.data()), text.size()), FormatError);
}

TEST(GgufStore, MetadataOfEveryType) {
  const auto store = open_store(fixture("all_types.gguf"));
  const auto& m = store.metadata();
  EXPECT_EQ(m["general.architecture"], "llama");
  EXPECT_EQ(m["gguf.version"], 3);
  EXPECT_EQ(m["llama.context_length"], 2048);
  EXPECT_EQ(m["test.i8"], -5);
  EXPECT_EQ(m["test.u16"], 65535);
  EXPECT_EQ(m["test.i64"], -(int64_t{1} << 40));
  EXPECT_EQ(m["test.bool"], true);
  EXPECT_EQ(m["test.f64"], 0.125);
  EXPECT_EQ(m["tokenizer.ggml.tokens"], (nlohmann::json{"<s>", "</s>", "hello"}));
  EXPECT_EQ(m["test.floats"], (nlohmann::json{1.0, 2.5}));
}

TEST(GgufStore, VersionTwo) {
  const auto store = open_store(fixture("v2.gguf"));
  EXPECT_EQ(store.metadata()["gguf.version"], 2);
  EXPECT_EQ(store.tensors().size(), 1u);
}

TEST(OpenStore, DetectsByContentNotExtension) {
  const std::string dir = modeldna::testing::fresh_temp_dir();
  std::filesystem::copy_file(fixture("all_types.gguf"), dir + "/model.safetensors");
  EXPECT_EQ(open_store(dir + "/model.safetensors").format(), Format::GGUF);
  modeldna::testing::write_bytes(dir + "/picture.gguf", std::string("\x89PNG\r\n\x1a\n0000", 12));
  EXPECT_THROW_MSG(open_store(dir + "/picture.gguf"), FormatError,
                   "picture.gguf: not a model file modeldna can read (looks like a PNG image)");
  modeldna::testing::write_bytes(dir + "/notes.bin", "hello world\n");
  EXPECT_THROW_MSG(open_store(dir + "/notes.bin"), FormatError, "(looks like a text file)");
  modeldna::testing::write_bytes(dir + "/empty.pt", "");
  EXPECT_THROW_MSG(open_store(dir + "/empty.pt"), FormatError, "(looks like an empty file)");
  modeldna::testing::write_bytes(dir + "/other.json", R"({"name": "x"})");
  EXPECT_THROW_MSG(open_store(dir + "/other.json"), FormatError, "a JSON file that is not a model manifest");
  EXPECT_THROW_MSG(open_store(dir + "/missing.pt"), FormatError, "missing.pt: cannot open file");
  std::filesystem::create_directories(dir + "/nothing");
  EXPECT_THROW_MSG(open_store(dir + "/nothing"), FormatError, "a folder without a model file");
}

}  // namespace
}  // namespace modeldna::io
