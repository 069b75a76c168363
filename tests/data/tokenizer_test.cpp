#include <sentencepiece_trainer.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

#include "modeldna/core/error.h"
#include "modeldna/data/text_corpus.h"
#include "modeldna/data/tokenizer.h"
#include "test_support.h"

namespace modeldna::data {
namespace {

namespace fs = std::filesystem;

// Moby Dick passages from the real package: enough text, fast to read.
const std::vector<std::string>& sentences() {
  static const std::vector<std::string> all = [] {
    std::vector<std::string> out;
    for (const auto& c : load_moby_dick())
      for (auto& p : split_passages(c.text, 40)) out.push_back(std::move(p));
    return out;
  }();
  return all;
}

constexpr TokenizerOptions kSmall{300, 1500};

const Tokenizer& small() {
  static const Tokenizer t = Tokenizer::train(sentences(), kSmall);
  return t;
}

TEST(Tokenizer, TrainsQuietlyWithTheReservedIds) {
  ::testing::internal::CaptureStderr();
  const Tokenizer t = Tokenizer::train(sentences(), {200, 500});
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");  // no SentencePiece logging
  EXPECT_EQ(t.vocab_size(), 200);
  EXPECT_EQ(t.decode({Tokenizer::kPad, Tokenizer::kCls, Tokenizer::kEnd, Tokenizer::kMask}), "");
  EXPECT_EQ(t.decode({Tokenizer::kUnknown}), " \xE2\x81\x87 ");  // SentencePiece's unknown surface
  // Text never encodes to a reserved id but [UNK] (this etymology passage has Hebrew and Greek).
  bool unknown = false;
  for (int64_t id : t.encode(sentences()[10])) {
    unknown |= id == Tokenizer::kUnknown;
    if (id != Tokenizer::kUnknown) { EXPECT_GE(id, Tokenizer::kFirstPiece); }
  }
  EXPECT_TRUE(unknown);
}

TEST(Tokenizer, RoundTripsNormalisedText) {
  const Tokenizer& t = small();
  for (const std::string s : {"Call me Ishmael.", "The whale, the sea and the ship; all of them at once!",
                              "Some years ago never mind how long precisely having little or no money"}) {
    EXPECT_EQ(t.decode(t.encode(s)), s);
  }
  // Passages of the corpus itself (single-spaced already), unless they hold a character too rare to keep.
  int checked = 0;
  for (size_t i = 0; i < sentences().size(); i += 50) {
    const std::vector<int64_t> ids = t.encode(sentences()[i]);
    if (std::find(ids.begin(), ids.end(), Tokenizer::kUnknown) != ids.end()) continue;
    EXPECT_EQ(t.decode(ids), sentences()[i]);
    ++checked;
  }
  EXPECT_GT(checked, 50);
  EXPECT_TRUE(t.encode("").empty());
}

TEST(Tokenizer, IsDeterministic) {
  const Tokenizer& t = small();
  const std::string text = sentences()[123];
  EXPECT_EQ(t.encode(text), t.encode(text));
  // Training twice on the same sentences gives the same bytes.
  const Tokenizer again = Tokenizer::train(sentences(), kSmall);
  EXPECT_EQ(again.serialized(), t.serialized());
  // And save + load gives the same ids.
  const std::string path = testing::fresh_temp_dir() + "/sub/tokenizer.model";
  t.save(path);
  EXPECT_FALSE(testing::temporary_left_beside(path));
  const Tokenizer loaded = Tokenizer::load(path);
  EXPECT_EQ(loaded.serialized(), t.serialized());
  EXPECT_EQ(loaded.vocab_size(), 300);
  for (size_t i = 0; i < sentences().size(); i += 97) EXPECT_EQ(loaded.encode(sentences()[i]), t.encode(sentences()[i]));
}

TEST(Tokenizer, MaxSentencesTakesAnEvenStride) {
  // All sentences == max_sentences at (or above) the count; fewer changes the model.
  std::vector<std::string> few(sentences().begin(), sentences().begin() + 400);
  const Tokenizer all = Tokenizer::train(few, {150, 0});
  EXPECT_EQ(Tokenizer::train(few, {150, 400}).serialized(), all.serialized());
  EXPECT_EQ(Tokenizer::train(few, {150, 10000}).serialized(), all.serialized());
  EXPECT_NE(Tokenizer::train(few, {150, 200}).serialized(), all.serialized());
  // Every other sentence, chosen by max_sentences, is the same as passing them.
  std::vector<std::string> halves;
  for (size_t i = 0; i < few.size(); i += 2) halves.push_back(few[i]);
  EXPECT_EQ(Tokenizer::train(few, {150, 200}).serialized(), Tokenizer::train(halves, {150, 0}).serialized());
}

TEST(Tokenizer, EncodeFixedStartsWithClsAndPads) {
  const Tokenizer& t = small();
  const std::vector<int64_t> ids = t.encode("Call me Ishmael.");
  const std::vector<int64_t> fixed = t.encode_fixed("Call me Ishmael.", 32);
  ASSERT_EQ(fixed.size(), 32u);
  EXPECT_EQ(fixed[0], Tokenizer::kCls);
  EXPECT_EQ(std::vector<int64_t>(fixed.begin() + 1, fixed.begin() + 1 + ids.size()), ids);
  for (size_t i = 1 + ids.size(); i < fixed.size(); ++i) EXPECT_EQ(fixed[i], Tokenizer::kPad);
  // Long text is truncated to seq_len - 1 ids.
  const std::vector<int64_t> long_ids = t.encode(sentences()[5]);
  ASSERT_GT(long_ids.size(), 8u);
  const std::vector<int64_t> cut = t.encode_fixed(sentences()[5], 8);
  EXPECT_EQ(cut, (std::vector<int64_t>{Tokenizer::kCls, long_ids[0], long_ids[1], long_ids[2], long_ids[3], long_ids[4],
                                       long_ids[5], long_ids[6]}));
  EXPECT_EQ(t.encode_fixed("", 3), (std::vector<int64_t>{Tokenizer::kCls, Tokenizer::kPad, Tokenizer::kPad}));
  EXPECT_THROW(t.encode_fixed("x", 0), UsageError);
}

TEST(Tokenizer, RefusesBadArguments) {
  EXPECT_THROW_MSG(small().decode({5, 300}), UsageError, "token id 300 is outside the vocabulary (0..299)");
  EXPECT_THROW_MSG(small().decode({-1}), UsageError, "token id -1");
  EXPECT_THROW_MSG(Tokenizer::train({}, kSmall), UsageError, "no sentences");
  EXPECT_THROW_MSG(Tokenizer::train(sentences(), {5, 0}), UsageError, "vocab_size must be in 6..1000000");
  EXPECT_THROW_MSG(Tokenizer::train({"a few words", "and a few more"}, {5000, 0}), UsageError,
                   "cannot train a tokenizer of 5000 pieces (too little text?)");
}

TEST(Tokenizer, LoadRefusesWhatModeldnaDidNotWrite) {
  const std::string dir = testing::fresh_temp_dir();
  const std::string missing = dir + "/missing.model";
  EXPECT_THROW_MSG(Tokenizer::load(missing), FormatError, missing + ": cannot open file");

  const std::string garbage = dir + "/garbage.model";
  testing::write_bytes(garbage, "this is not a protobuf \xff\xff\xff\xff");
  EXPECT_THROW_MSG(Tokenizer::load(garbage), FormatError, garbage + ": not a SentencePiece model");

  const std::string truncated = dir + "/truncated.model";
  testing::write_bytes(truncated, small().serialized().substr(0, small().serialized().size() / 2));
  EXPECT_THROW(Tokenizer::load(truncated), FormatError);

  const std::string huge = dir + "/huge.model";
  testing::write_bytes(huge, "");
  fs::resize_file(huge, (16u << 20) + 1);
  EXPECT_THROW_MSG(Tokenizer::load(huge), FormatError, huge + ": file is 16777217 bytes, more than the 16777216-byte limit");

  // A SentencePiece model with SentencePiece's own defaults (unk 0, bos 1, eos 2, no pad, no [MASK]).
  class Iterator : public sentencepiece::SentenceIterator {
   public:
    bool done() const override { return i_ >= 300; }
    void Next() override { ++i_; }
    const std::string& value() const override { return sentences()[i_]; }
    sentencepiece::util::Status status() const override { return {}; }

   private:
    size_t i_ = 0;
  } it;
  std::string foreign_bytes;
  ASSERT_TRUE(sentencepiece::SentencePieceTrainer::Train(
                  {{"model_type", "unigram"}, {"vocab_size", "100"}, {"minloglevel", "3"}}, &it, &foreign_bytes)
                  .ok());
  const std::string foreign = dir + "/foreign.model";
  testing::write_bytes(foreign, foreign_bytes);
  EXPECT_THROW_MSG(Tokenizer::load(foreign), FormatError,
                   foreign + ": not a modeldna tokenizer: pad/unk/bos/eos/[MASK] ids are -1/0/1/2/absent, expected 0/1/2/3/4");
}

}  // namespace
}  // namespace modeldna::data
