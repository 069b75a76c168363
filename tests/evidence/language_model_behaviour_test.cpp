// Black-box evidence for language models: prompts in the source's
// vocabulary, and compare's runner on the tiny Llama fixtures
// (tests/compare/fixtures/llama: Hugging Face and llama.cpp files).
#include <gtest/gtest.h>

#include "language_model_prompts.h"
#include "modeldna/core/error.h"
#include "modeldna/data/text_corpus.h"
#include "modeldna/evidence/model_behaviour.h"
#include "modeldna/io/open_store.h"
#include "modeldna/io/vocabulary.h"
#include "test_support.h"

namespace modeldna::evidence {
namespace {

using detail::TextSegmenter;

std::string llama_file(const std::string& name) {
  return std::string(MODELDNA_SOURCE_DIR) + "/tests/compare/fixtures/llama/" + name;
}

std::shared_ptr<const io::TensorStore> llama_store(const std::string& name) {
  return std::make_shared<io::TensorStore>(io::open_store(llama_file(name)));
}

std::vector<std::string> base_tokens() { return *io::vocabulary(*llama_store("base-q8_0.gguf")); }

// The text the ids spell: pieces joined, byte pieces as their bytes, word
// marks as spaces.
std::string spelled(const std::vector<std::string>& tokens, const std::vector<int64_t>& ids) {
  std::string out;
  for (int64_t id : ids) {
    const auto& piece = tokens[static_cast<std::size_t>(id)];
    if (piece.size() == 6 && piece.rfind("<0x", 0) == 0)
      out += static_cast<char>(std::stoi(piece.substr(3, 2), nullptr, 16));
    else
      out += piece;
  }
  std::string text;
  for (std::size_t i = 0; i < out.size();) {
    if (out.compare(i, 3, "\xE2\x96\x81") == 0) text += ' ', i += 3;
    else text += out[i++];
  }
  return text;
}

TEST(LanguageModelPrompts, SegmentsSpellTheTextInTheVocabularysPieces) {
  const auto tokens = base_tokens();
  const TextSegmenter segmenter(tokens);
  EXPECT_EQ(segmenter.begin_of_sequence(), 1);  // <s>
  const std::string text = "Call me   Ishmael.\nSome years ago, caf\xC3\xA9 1851";
  const auto ids = segmenter.ids(text);
  // Whitespace runs become one space; SentencePiece's dummy prefix leads.
  EXPECT_EQ(spelled(tokens, ids), " Call me Ishmael. Some years ago, caf\xC3\xA9 1851");
  // Greedy longest match: pieces longer than one character, no control token.
  EXPECT_LT(ids.size(), text.size());
  for (int64_t id : ids) EXPECT_GT(id, 2) << tokens[static_cast<std::size_t>(id)];
}

TEST(LanguageModelPrompts, ByteLevelVocabulariesMarkWordsWithTheirOwnCharacter) {
  const std::vector<std::string> tokens = {"<|endoftext|>", "t", "h", "e", "c", "a", "\xC4\xA0", "the", "\xC4\xA0" "cat"};
  const TextSegmenter segmenter(tokens);
  EXPECT_EQ(segmenter.begin_of_sequence(), 0);
  EXPECT_EQ(segmenter.ids("the cat"), (std::vector<int64_t>{7, 8}));  // no dummy prefix
}

TEST(LanguageModelPrompts, PromptsAreConsecutiveWindowsLabelledByTheNextToken) {
  MODELDNA_NPM_PACKAGE(moby_dick, "moby-dick");
  const TextSegmenter segmenter(base_tokens());
  const auto d = detail::language_model_prompts(segmenter, 30, 16);
  ASSERT_EQ(d.inputs.sizes(), (std::vector<int64_t>{30, 16}));
  EXPECT_TRUE(d.inputs.select(1, 0).eq(1).all().item<bool>());  // <s> first
  EXPECT_TRUE(d.inputs.slice(1, 1).gt(2).all().item<bool>());    // then text
  // Window w+1 starts right after window w's label.
  const auto stream = segmenter.ids(data::load_moby_dick().front().text);
  ASSERT_GT(stream.size(), 40u);
  for (int64_t k = 0; k < 15; ++k) EXPECT_EQ(d.inputs[0][k + 1].item<int64_t>(), stream[static_cast<std::size_t>(k)]);
  EXPECT_EQ(d.labels[0].item<int64_t>(), stream[15]);
  EXPECT_EQ(d.inputs[1][1].item<int64_t>(), stream[16]);
}

TEST(LanguageModelPrompts, TokensAreMatchedByTheirStrings) {
  const auto base = base_tokens();
  const auto extended = *io::vocabulary(*llama_store("vocab-extended-q8_0.gguf"));
  ASSERT_EQ(extended.size(), 528u);
  const auto map = detail::same_tokens(base, extended);
  ASSERT_TRUE(map);
  for (std::size_t i = 0; i < base.size(); ++i) EXPECT_EQ(extended[static_cast<std::size_t>((*map)[i])], base[i]);
  EXPECT_FALSE(detail::same_tokens(extended, base));  // the added tokens are not the base's
}

class LanguageModelBehaviour : public ::testing::Test {
 protected:
  void SetUp() override {
    MODELDNA_NPM_PACKAGE(moby_dick, "moby-dick");
  }
  compare::BlackBoxEvidence evidence(const std::string& source, const std::string& target,
                                     const std::vector<std::string>& references = {}) {
    std::vector<std::shared_ptr<const io::TensorStore>> panel;
    for (const auto& r : references) panel.push_back(llama_store(r));
    return runner_.evidence(llama_store(source), llama_store(target), panel, 7);
  }
  static double agreement(const compare::BlackBoxEvidence& e) {
    return e.signals.at("greedy_next_token_agreement").get<double>();
  }
  ModelBehaviour runner_{BehaviourOptions{40, 0, ""}};
};

TEST_F(LanguageModelBehaviour, BothEcosystemsFilesRunAndTheirConversionAgrees) {
  EXPECT_TRUE(runner_.can_run(*llama_store("base/model.safetensors")));
  EXPECT_TRUE(runner_.can_run(*llama_store("base-q4_k_m.gguf")));
  const auto converted = evidence("base/model.safetensors", "base-q8_0.gguf");
  ASSERT_TRUE(converted.available) << converted.reason;
  const auto scratch = evidence("base/model.safetensors", "scratch-q8_0.gguf");
  ASSERT_TRUE(scratch.available) << scratch.reason;
  std::printf("greedy agreement: converted %.3f, scratch %.3f; similarity %.4f vs %.4f\n", agreement(converted),
              agreement(scratch), converted.score, scratch.score);
  // A conversion behaves as its source; an independent model of the same
  // configuration and tokenizer does not.
  EXPECT_GT(agreement(converted), 0.9);
  EXPECT_GT(agreement(converted), agreement(scratch) + 0.3);
  EXPECT_GT(converted.score, scratch.score);
  // Two references are fewer than a calibration needs: no p-value.
  EXPECT_FALSE(converted.log10_p);
}

TEST_F(LanguageModelBehaviour, AnExtendedVocabularyIsReadInTheSourcesTokens) {
  const auto e = evidence("base-q8_0.gguf", "vocab-extended-q8_0.gguf");
  ASSERT_TRUE(e.available) << e.reason;
  EXPECT_EQ(e.signals.at("target_tokens_ignored"), 16);
  EXPECT_GT(agreement(e), 0.9);
  // The other way round, the source's added tokens are nowhere in the target.
  const auto back = evidence("vocab-extended-q8_0.gguf", "base-q8_0.gguf");
  EXPECT_FALSE(back.available);
  EXPECT_NE(back.reason.find("vocabularies differ"), std::string::npos);
}

TEST_F(LanguageModelBehaviour, AReferenceMustBeALanguageModelOfTheSourcesTokens) {
  EXPECT_THROW_MSG(evidence("vocab-extended-q8_0.gguf", "vocab-extended-q8_0.gguf", {"base-q8_0.gguf"}), UsageError,
                   "lacks some of the source's tokens");
}

}  // namespace
}  // namespace modeldna::evidence
