// The text architectures (text-transformer, text-cnn), their configs, model
// files, and masked-language-model pre-training.
#include <torch/torch.h>

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "masked_lm.h"
#include "modeldna/core/error.h"
#include "modeldna/data/tokenizer.h"
#include "modeldna/io/safetensors.h"
#include "modeldna/nn/compress.h"
#include "modeldna/nn/model_file.h"
#include "modeldna/nn/network.h"
#include "modeldna/nn/train.h"
#include "network_helpers.h"
#include "test_support.h"

namespace modeldna::nn {
namespace {

using data::Tokenizer;

constexpr int64_t kVocab = 40;
constexpr int64_t kSeqLen = 16;

ArchConfig text_config(const std::string& arch, int64_t num_classes = 3, double width = 0.25,
                       Head head = Head::Classify) {
  ArchConfig c = testing::arch_config(arch, width, num_classes);
  c.input = InputSpec::text(kVocab, kSeqLen);
  c.head = head;
  return c;
}

ArchConfig masked_lm_config(double width = 0.25) {
  return text_config("text-transformer", kVocab, width, Head::MaskedLm);
}

torch::Tensor eval_forward(Network& net, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  net.eval();
  return net.forward(x);
}

// [CLS], then `length` - 1 random pieces, then padding up to `seq_len`.
torch::Tensor random_tokens(const std::vector<int64_t>& lengths, int64_t seq_len, uint64_t seed) {
  torch::manual_seed(seed);
  auto x = torch::full({static_cast<int64_t>(lengths.size()), seq_len}, Tokenizer::kPad, torch::kInt64);
  for (size_t i = 0; i < lengths.size(); ++i) {
    x[i][0] = Tokenizer::kCls;
    x[i].slice(0, 1, lengths[i]).copy_(torch::randint(Tokenizer::kFirstPiece, kVocab, {lengths[i] - 1}, torch::kInt64));
  }
  return x;
}

// Runs of consecutive pieces (t is followed by t + 1) at random starts and
// lengths: a masked piece is recoverable from either neighbour.
torch::Tensor counting_corpus(int64_t n, uint64_t seed) {
  torch::manual_seed(seed);
  auto x = torch::full({n, kSeqLen}, Tokenizer::kPad, torch::kInt64);
  const auto lengths = torch::randint(6, kSeqLen + 1, {n}, torch::kInt64);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t len = lengths[i].item<int64_t>();
    const int64_t start = torch::randint(Tokenizer::kFirstPiece, kVocab - len + 2, {1}).item<int64_t>();
    x[i][0] = Tokenizer::kCls;
    x[i].slice(0, 1, len).copy_(torch::arange(start, start + len - 1, torch::kInt64));
  }
  return x;
}

// Three classes, each with its own third of the pieces, 30% of the tokens
// noise from all of them; lengths vary.
data::Dataset class_task(int64_t n, uint64_t seed) {
  torch::manual_seed(seed);
  data::Dataset d;
  d.name = "synthetic-text";
  d.num_classes = 3;
  d.labels = torch::randint(0, 3, {n}, torch::kInt64);
  d.inputs = torch::full({n, kSeqLen}, Tokenizer::kPad, torch::kInt64);
  const int64_t band = (kVocab - Tokenizer::kFirstPiece) / 3;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t len = torch::randint(4, kSeqLen + 1, {1}).item<int64_t>();
    const int64_t low = Tokenizer::kFirstPiece + d.labels[i].item<int64_t>() * band;
    auto pieces = torch::randint(low, low + band, {len - 1}, torch::kInt64);
    const auto noise = torch::rand({len - 1}).lt(0.3);
    pieces = torch::where(noise, torch::randint(Tokenizer::kFirstPiece, kVocab, {len - 1}, torch::kInt64), pieces);
    d.inputs[i][0] = Tokenizer::kCls;
    d.inputs[i].slice(0, 1, len).copy_(pieces);
  }
  return d;
}

void expect_close(const torch::Tensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  EXPECT_TRUE(torch::allclose(a, b, 1e-4, 1e-5)) << "max difference " << (a - b).abs().max().item<double>();
}

std::set<std::string> json_keys(const nlohmann::json& j) {
  std::set<std::string> keys;
  for (const auto& item : j.items()) keys.insert(item.key());
  return keys;
}

TEST(TextArchitecture, LayersAndOutputShapes) {
  const auto x = random_tokens({16, 5, 1}, kSeqLen, 1);
  const auto transformer = make_network(text_config("text-transformer"));
  EXPECT_EQ(transformer->layer_names(), (std::vector<std::string>{"embed", "block1", "block2", "pool", "head"}));
  EXPECT_EQ(transformer->last_layers(3), (std::vector<std::string>{"block2", "pool", "head"}));
  EXPECT_EQ(eval_forward(*transformer, x).sizes().vec(), (std::vector<int64_t>{3, 3}));

  const auto lm = make_network(masked_lm_config());
  EXPECT_EQ(lm->layer_names(), transformer->layer_names());
  const auto y = eval_forward(*lm, x);
  EXPECT_EQ(y.sizes().vec(), (std::vector<int64_t>{3, kVocab}));
  EXPECT_TRUE(torch::isfinite(y).all().item<bool>());

  const auto cnn = make_network(text_config("text-cnn"));
  EXPECT_EQ(cnn->layer_names(), (std::vector<std::string>{"embed", "conv1", "conv2", "conv3", "head"}));
  EXPECT_EQ(cnn->last_layers(3), (std::vector<std::string>{"conv2", "conv3", "head"}));
  const auto z = eval_forward(*cnn, x);
  EXPECT_EQ(z.sizes().vec(), (std::vector<int64_t>{3, 3}));
  EXPECT_TRUE(torch::isfinite(z).all().item<bool>());
}

TEST(TextArchitecture, ParameterCountsMatchTheLayerShapes) {
  // text-transformer, width 0.25: d = 16, 2 heads, feed-forward 32; vocab 40, seq_len 16, 3 classes
  //   embed: token 40*16 + position 16*16 + LayerNorm 2*16 = 640 + 256 + 32 = 928
  //   block: qkv 16*48+48 = 816, out 16*16+16 = 272, norm1 32, ff1 16*32+32 = 544, ff2 32*16+16 = 528,
  //          norm2 32 = 2,224; two blocks 4,448
  //   pool: 16*16+16 = 272;  head: 16*3+3 = 51   total 5,699
  EXPECT_EQ(make_network(text_config("text-transformer"))->parameter_count(), 5699);
  // masked-lm: head 16*40+40 = 680 instead of 51
  EXPECT_EQ(make_network(masked_lm_config())->parameter_count(), 5699 - 51 + 680);
  // text-cnn, width 0.25: embedding 16, channels 32
  //   embed 40*16 = 640; conv1 16*32*3+32 = 1,568; conv2 32*32*5+32 = 5,152; conv3 32*32*7+32 = 7,200;
  //   head 32*3+3 = 99   total 14,659
  EXPECT_EQ(make_network(text_config("text-cnn"))->parameter_count(), 14659);
  // Width rounds d to a multiple of the heads: 64 * 0.3 = 19.2 -> 19 -> 20 (2 heads).
  EXPECT_EQ(make_network(text_config("text-transformer", 3, 0.3))->named_parameters()["embed.token.weight"].size(1), 20);
  EXPECT_EQ(make_network(text_config("text-transformer", 3, 1.0))->named_parameters()["embed.token.weight"].size(1), 64);
}

TEST(TextArchitecture, ModalityAndExampleInput) {
  EXPECT_EQ(text_config("text-transformer").modality(), data::Modality::Text);
  EXPECT_EQ(text_config("text-cnn").modality(), data::Modality::Text);
  EXPECT_EQ(testing::arch_config("lenet").modality(), data::Modality::Image);
  EXPECT_EQ(architecture_modality("text-cnn"), data::Modality::Text);
  EXPECT_EQ(architecture_modality("resnet18"), data::Modality::Image);
  EXPECT_THROW_MSG(architecture_modality("vgg16"), UsageError, "unknown architecture 'vgg16'");

  const auto c = text_config("text-cnn");
  const auto x = c.example_input(4);
  EXPECT_EQ(x.scalar_type(), torch::kInt64);
  EXPECT_EQ(x.sizes().vec(), (std::vector<int64_t>{4, kSeqLen}));
  EXPECT_TRUE(x.select(1, 0).eq(Tokenizer::kCls).all().item<bool>());
  EXPECT_TRUE(x.slice(1, 1).eq(Tokenizer::kPad).all().item<bool>());
  for (const auto& config : {c, text_config("text-transformer"), masked_lm_config()}) {
    SCOPED_TRACE(config.arch + " " + std::string(head_name(config.head)));
    const auto y = eval_forward(*make_network(config), config.example_input(2));
    EXPECT_EQ(y.sizes().vec(), (std::vector<int64_t>{2, config.num_classes}));
    EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
  }
  const auto image = testing::arch_config("lenet").example_input(2);
  EXPECT_EQ(image.sizes().vec(), (std::vector<int64_t>{2, 1, 28, 28}));
  EXPECT_EQ(image.scalar_type(), torch::kFloat32);
}

// Padding never reaches the real tokens: a batch padded to seq_len, the same
// batch cut after its longest text, and each text alone cut after its last
// token all give the same outputs.
TEST(TextArchitecture, PaddingDoesNotChangeTheOutput) {
  const std::vector<int64_t> lengths = {9, 3, 6, 1};
  const auto x = random_tokens(lengths, kSeqLen, 2);
  for (const auto& config : {text_config("text-transformer"), text_config("text-cnn"), masked_lm_config()}) {
    SCOPED_TRACE(config.arch + " " + std::string(head_name(config.head)));
    auto net = testing::seeded_network(config, 3);
    {  // larger weights than the initial ones, so a real token moves the output clearly
      torch::NoGradGuard no_grad;
      for (auto& p : net->parameters()) p.uniform_(-0.5, 0.5);
    }
    const auto full = eval_forward(*net, x);
    expect_close(eval_forward(*net, x.slice(1, 0, 9)), full);
    for (size_t i = 0; i < lengths.size(); ++i)
      expect_close(eval_forward(*net, x.slice(0, i, i + 1).slice(1, 0, lengths[i])), full.slice(0, i, i + 1));
    // Not vacuous: changing a real token changes the output.
    auto changed = x.clone();
    changed[0][8] = changed[0][8].item<int64_t>() == 5 ? 6 : 5;
    EXPECT_FALSE(torch::allclose(eval_forward(*net, changed)[0], full[0], 1e-4, 1e-5));
  }
}

TEST(TextArchitecture, MaskedLmOutputIsTheMeanOfTheRealPositionsTokenLogits) {
  const std::vector<int64_t> lengths = {7, 2, 16};
  const auto x = random_tokens(lengths, kSeqLen, 4);
  auto net = testing::seeded_network(masked_lm_config(), 5);
  const auto mean = eval_forward(*net, x);
  torch::NoGradGuard no_grad;
  const auto all = masked_lm_logits(*net, x, x.ne(Tokenizer::kPad));
  int64_t row = 0;
  for (size_t i = 0; i < lengths.size(); ++i) {
    expect_close(mean[i], all.slice(0, row, row + lengths[i]).mean(0));
    row += lengths[i];
  }
  EXPECT_EQ(row, all.size(0));
  EXPECT_THROW_MSG(masked_lm_logits(*make_network(text_config("text-transformer")), x, x.ne(0)), UsageError,
                   "not a masked language model");
  EXPECT_THROW(masked_lm_logits(*make_network(text_config("text-cnn")), x, x.ne(0)), UsageError);
}

TEST(TextArchitecture, RefusesInputsThatAreNotTokenIds) {
  auto net = make_network(text_config("text-transformer"));
  EXPECT_THROW_MSG(net->forward(torch::zeros({2, kSeqLen})), UsageError, "reads token ids");
  EXPECT_THROW_MSG(net->forward(torch::zeros({2, kSeqLen + 1}, torch::kInt64)), UsageError, "reads at most 16 tokens");
  auto x = text_config("text-cnn").example_input(2);
  x[1][3] = kVocab;
  EXPECT_THROW_MSG(make_network(text_config("text-cnn"))->forward(x), UsageError, "token id out of range");
  EXPECT_THROW(make_network(text_config("text-cnn"))->forward(torch::zeros({2, 1, 28, 28})), UsageError);
}

TEST(TextArchitecture, ConfigJsonRoundTripsAndKeepsTheImageLayout) {
  for (const auto& c : {text_config("text-transformer", 7, 0.5), text_config("text-cnn"), masked_lm_config()}) {
    SCOPED_TRACE(c.arch + " " + std::string(head_name(c.head)));
    const auto j = c.to_json();
    EXPECT_EQ(json_keys(j), (std::set<std::string>{"arch", "vocab_size", "seq_len", "num_classes", "width", "head"}));
    EXPECT_EQ(ArchConfig::from_json(j), c);
  }
  // Image configs write exactly what model files and zoo fixtures always held.
  const auto image = testing::arch_config("resnet18", 0.5, 4);
  EXPECT_EQ(json_keys(image.to_json()),
            (std::set<std::string>{"arch", "in_channels", "image_size", "num_classes", "width"}));
  EXPECT_EQ(ArchConfig::from_json(
                nlohmann::json::parse(R"({"arch":"resnet18","in_channels":1,"image_size":28,"num_classes":4,"width":0.5})")),
            image);
}

TEST(TextArchitecture, ConfigRefusals) {
  auto refuse = [](nlohmann::json j, const std::string& message) {
    SCOPED_TRACE(j.dump());
    EXPECT_THROW_MSG(ArchConfig::from_json(j), UsageError, message);
  };
  const auto lm = masked_lm_config().to_json();
  auto j = lm;
  j["arch"] = "text-cnn";
  refuse(j, "'text-cnn' has no head 'masked-lm'");
  j = lm;
  j["num_classes"] = 3;
  refuse(j, "masked-lm needs num_classes == vocab_size");
  j = lm;
  j["head"] = "regress";
  refuse(j, "unknown head 'regress' (classify or masked-lm)");
  j = lm;
  j.erase("head");
  refuse(j, "bad architecture config");
  j = lm;
  j["in_channels"] = 1;
  refuse(j, "'text-transformer' is a text architecture: it takes no in_channels");
  j = lm;
  j["vocab_size"] = 5;
  j["num_classes"] = 5;
  refuse(j, "vocab_size out of range");
  j = text_config("text-cnn").to_json();
  j["seq_len"] = 1;
  refuse(j, "seq_len out of range");
  j = text_config("text-cnn").to_json();
  j["seq_len"] = 5000;
  refuse(j, "seq_len out of range");
  j = testing::arch_config("lenet").to_json();
  j["vocab_size"] = 40;
  refuse(j, "'lenet' is an image architecture: it takes no vocab_size");
  j = testing::arch_config("lenet").to_json();
  j["head"] = "classify";
  refuse(j, "takes no head");

  // make_network applies the same rules to configs built in code.
  EXPECT_THROW_MSG(make_network(testing::arch_config("text-cnn")), UsageError,
                   "'text-cnn' is a text architecture: it needs a text input (vocab_size and seq_len)");
  auto c = testing::arch_config("mlp");
  c.input = InputSpec::text(40, 16);
  EXPECT_THROW_MSG(make_network(c), UsageError, "'mlp' is an image architecture: it needs an image input");
  c = text_config("text-cnn");
  c.input.in_channels = 3;
  EXPECT_THROW_MSG(make_network(c), UsageError, "a text input has no in_channels or image_size");
  c = testing::arch_config("mlp");
  c.input.seq_len = 16;
  EXPECT_THROW_MSG(make_network(c), UsageError, "an image input has no vocab_size or seq_len");
  c = testing::arch_config("mlp");
  c.head = Head::MaskedLm;
  EXPECT_THROW(make_network(c), UsageError);
  EXPECT_THROW_MSG(make_network(text_config("text-cnn", kVocab, 0.25, Head::MaskedLm)), UsageError, "has no head");
  EXPECT_THROW_MSG(make_network(text_config("text-transformer", 3, 0.25, Head::MaskedLm)), UsageError,
                   "num_classes == vocab_size");
}

TEST(TextArchitecture, ConfigEqualityComparesEveryField) {
  const auto base = masked_lm_config();
  EXPECT_EQ(base, masked_lm_config());
  auto c = base;
  c.input.vocab_size += 1;
  EXPECT_FALSE(c == base);
  c = base;
  c.input.seq_len += 1;
  EXPECT_FALSE(c == base);
  c = base;
  c.head = Head::Classify;
  EXPECT_FALSE(c == base);
  c = base;
  c.input.in_channels = 3;
  EXPECT_FALSE(c == base);
  c = base;
  c.input.image_size = 32;
  EXPECT_FALSE(c == base);
}

TEST(TextArchitecture, WithNewHeadCopiesEverythingButTheHead) {
  for (const auto& config : {masked_lm_config(), text_config("text-transformer", 7), text_config("text-cnn", 7),
                             testing::arch_config("lenet", 0.25)}) {
    SCOPED_TRACE(config.arch + " " + std::string(head_name(config.head)));
    const auto pretrained = testing::seeded_network(config, 1);
    torch::manual_seed(2);
    const auto grown = with_new_head(*pretrained, 5);
    auto expected = config;
    expected.head = Head::Classify;
    expected.num_classes = 5;
    EXPECT_EQ(grown->config(), expected);
    const auto head = grown->layer_names().back();
    const auto src = pretrained->named_parameters();
    for (const auto& p : grown->named_parameters()) {
      SCOPED_TRACE(p.key());
      if (p.key().rfind(head + ".", 0) == 0) {
        EXPECT_EQ(p.value().size(0), 5);
      } else {
        EXPECT_TRUE(torch::equal(p.value(), src[p.key()]));
      }
    }
    // The head is fresh, initialised under the global seed.
    torch::manual_seed(2);
    const auto again = with_new_head(*pretrained, 5);
    EXPECT_TRUE(torch::equal(again->named_parameters()[head + ".weight"], grown->named_parameters()[head + ".weight"]));
    EXPECT_EQ(eval_forward(*grown, config.example_input(2)).size(1), 5);
  }
  EXPECT_THROW(with_new_head(*make_network(masked_lm_config()), 0), UsageError);
}

TEST(TextArchitecture, CloneAndCopyLayersWorkForTextNetworks) {
  const auto x = random_tokens({5, 16, 2}, kSeqLen, 6);
  for (const auto& config : {masked_lm_config(), text_config("text-cnn")}) {
    SCOPED_TRACE(config.arch);
    const auto a = testing::seeded_network(config, 1), b = testing::seeded_network(config, 2);
    expect_close(eval_forward(*clone_network(*a), x), eval_forward(*a, x));
    const auto before = clone_network(*b);
    const auto last = a->last_layers(2);
    copy_layers(*a, *b, last);
    for (const auto& p : b->named_parameters()) {
      const bool copied = p.key().rfind(last[0] + ".", 0) == 0 || p.key().rfind(last[1] + ".", 0) == 0;
      const auto& expected = copied ? a->named_parameters()[p.key()] : before->named_parameters()[p.key()];
      EXPECT_TRUE(torch::equal(p.value(), expected)) << p.key();
    }
    const std::string embedding = config.arch == "text-cnn" ? "embed.weight" : "embed.token.weight";
    EXPECT_FALSE(torch::equal(b->named_parameters()[embedding], a->named_parameters()[embedding]));
  }
  EXPECT_THROW(copy_state(*make_network(masked_lm_config()), *make_network(text_config("text-transformer"))),
               UsageError);
}

TEST(TextArchitecture, ModelFilesRoundTripIncludingInt8AndPruning) {
  const auto dir = testing::fresh_temp_dir();
  const auto x = random_tokens({12, 4, 16}, kSeqLen, 7);
  for (const auto& config : {masked_lm_config(), text_config("text-cnn")}) {
    SCOPED_TRACE(config.arch);
    const auto net = testing::seeded_network(config, 3);
    save_model(dir + "/float.safetensors", *net);
    const auto loaded = load_model(dir + "/float.safetensors").network;
    EXPECT_EQ(loaded->config(), config);
    EXPECT_TRUE(torch::equal(eval_forward(*loaded, x), eval_forward(*net, x)));

    quantize_int8_per_tensor(*net);
    SaveOptions int8;
    int8.int8_weights = true;
    save_model(dir + "/int8.safetensors", *net, int8);
    const auto file = io::SafetensorsFile::open(dir + "/int8.safetensors");
    EXPECT_EQ(file.find("embed" + std::string(config.arch == "text-cnn" ? "" : ".token") + ".weight")->dtype,
              io::DType::I8);
    EXPECT_TRUE(torch::equal(eval_forward(*load_model(dir + "/int8.safetensors").network, x), eval_forward(*net, x)));

    const auto fresh = testing::seeded_network(config, 4);  // float weights: no ties at the threshold
    prune_by_magnitude(*fresh, 0.5);
    for (const auto& p : fresh->named_parameters())
      if (p.value().dim() >= 2) {
        EXPECT_NEAR(p.value().eq(0).to(torch::kFloat64).mean().item<double>(), 0.5, 0.02) << p.key(); }
    EXPECT_TRUE(torch::isfinite(eval_forward(*fresh, x)).all().item<bool>());
  }
}

TEST(MaskedLm, MaskingFollowsBert) {
  std::vector<int64_t> lengths;
  for (int64_t i = 0; i < 1000; ++i) lengths.push_back(2 + i % (kSeqLen - 1));
  const auto tokens = random_tokens(lengths, kSeqLen, 8);
  auto generator = mask_generator(1);
  const auto m = mask_tokens(tokens, kVocab, generator);
  const auto candidates = tokens.ne(Tokenizer::kPad).logical_and(tokens.ne(Tokenizer::kCls));
  EXPECT_FALSE(m.chosen.logical_and(candidates.logical_not()).any().item<bool>()) << "pad or [CLS] chosen";
  EXPECT_TRUE(m.inputs.masked_select(m.chosen.logical_not()).equal(tokens.masked_select(m.chosen.logical_not())));
  const double n_candidates = candidates.sum().item<double>(), n_chosen = m.chosen.sum().item<double>();
  EXPECT_NEAR(n_chosen / n_candidates, 0.15, 0.015);
  const auto before = tokens.masked_select(m.chosen), after = m.inputs.masked_select(m.chosen);
  const double masked = after.eq(Tokenizer::kMask).sum().item<double>() / n_chosen;
  const double kept = after.eq(before).sum().item<double>() / n_chosen;
  EXPECT_NEAR(masked, 0.8, 0.04);
  EXPECT_NEAR(kept, 0.1 + 0.1 / (kVocab - Tokenizer::kFirstPiece), 0.03);
  EXPECT_NEAR(1 - masked - kept, 0.1, 0.03);
  const auto random = after.masked_select(after.ne(Tokenizer::kMask).logical_and(after.ne(before)));
  EXPECT_TRUE(random.ge(Tokenizer::kFirstPiece).all().item<bool>() && random.lt(kVocab).all().item<bool>());

  // The same seed gives the same masks; evaluation masks every chosen one.
  auto same = mask_generator(1);
  const auto again = mask_tokens(tokens, kVocab, same, /*always_mask=*/true);
  EXPECT_TRUE(again.chosen.equal(m.chosen));
  EXPECT_TRUE(again.inputs.masked_select(m.chosen).eq(Tokenizer::kMask).all().item<bool>());
  auto other = mask_generator(2);
  EXPECT_FALSE(mask_tokens(tokens, kVocab, other).chosen.equal(m.chosen));
}

TEST(MaskedLm, PretrainingLearnsACountingLanguage) {
  const auto corpus = counting_corpus(512, 9), held_out = counting_corpus(256, 10);
  auto net = testing::seeded_network(masked_lm_config(0.5), 11);
  const double chance = 1.0 / static_cast<double>(kVocab - Tokenizer::kFirstPiece);
  EXPECT_LT(masked_lm_accuracy(*net, held_out), 4 * chance);
  const double loss = train_masked_lm(*net, corpus, testing::small_adam(25, 12));
  EXPECT_LT(loss, 0.5 * std::log(static_cast<double>(kVocab)));
  const double acc = masked_lm_accuracy(*net, held_out, 3);
  EXPECT_GT(acc, 0.6) << "chance is " << chance;
  EXPECT_EQ(masked_lm_accuracy(*net, held_out, 3), acc) << "the same seed, the same masks";
}

TEST(MaskedLm, SameSeedGivesBitIdenticalWeightsAndBadCallsAreRefused) {
  const auto corpus = counting_corpus(64, 13);
  TrainOptions o;
  o.batch_size = 16;
  o.epochs = 2;
  o.seed = 4;
  auto a = testing::seeded_network(masked_lm_config(), 1), b = testing::seeded_network(masked_lm_config(), 1);
  EXPECT_EQ(train_masked_lm(*a, corpus, o), train_masked_lm(*b, corpus, o));
  const auto other = b->named_parameters();
  for (const auto& p : a->named_parameters()) EXPECT_TRUE(torch::equal(p.value(), other[p.key()])) << p.key();

  auto classifier = make_network(text_config("text-transformer"));
  EXPECT_THROW_MSG(train_masked_lm(*classifier, corpus, o), UsageError, "not a masked language model");
  EXPECT_THROW(masked_lm_accuracy(*make_network(text_config("text-cnn")), corpus), UsageError);
  EXPECT_THROW(train_masked_lm(*a, corpus.to(torch::kFloat32), o), UsageError);
}

TEST(TextTraining, ClassifiersLearnASyntheticTextTask) {
  const auto train = class_task(384, 14), test = class_task(256, 15);
  auto o = testing::small_adam(6, 16);
  for (const auto& config : {text_config("text-transformer", 3, 0.5), text_config("text-cnn", 3, 0.25)}) {
    SCOPED_TRACE(config.arch);
    auto net = testing::seeded_network(config, 17);
    EXPECT_LT(accuracy(*net, test), 0.6);
    train_classifier(*net, train, o);
    EXPECT_GT(accuracy(*net, test), 0.85);
    EXPECT_EQ(predict_logits(*net, test.inputs, 100).sizes().vec(), (std::vector<int64_t>{256, 3}));
  }
  // Distillation takes token inputs too: a text-cnn student of a transformer teacher.
  auto teacher = testing::seeded_network(text_config("text-transformer", 3, 0.5), 18);
  train_classifier(*teacher, train, o);
  auto student = testing::seeded_network(text_config("text-cnn", 3, 0.25), 19);
  o.epochs = 4;
  EXPECT_TRUE(std::isfinite(train_distillation(*student, *teacher, train, o, 2.0)));
  const auto agree =
      predict_logits(*student, test.inputs).argmax(1).eq(predict_logits(*teacher, test.inputs).argmax(1));
  EXPECT_GT(agree.to(torch::kFloat64).mean().item<double>(), 0.8);
}

// A pre-trained language model grown a classifier head fine-tunes like any classifier.
TEST(TextTraining, FineTuningFromAMaskedLm) {
  const auto train = class_task(384, 20), test = class_task(256, 21);
  auto lm = testing::seeded_network(masked_lm_config(0.5), 22);
  TrainOptions o;
  o.optimizer = Optimizer::Adam;
  o.lr = 3e-3;
  o.weight_decay = 0;
  o.batch_size = 32;
  o.epochs = 2;
  train_masked_lm(*lm, train.inputs, o);
  auto classifier = with_new_head(*lm, 3);
  o.epochs = 6;
  train_classifier(*classifier, train, o);
  EXPECT_GT(accuracy(*classifier, test), 0.85);
}

}  // namespace
}  // namespace modeldna::nn
