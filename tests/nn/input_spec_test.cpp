// One description of a model's inputs: from an architecture, from a batch,
// and through a detector file's JSON.
#include "modeldna/nn/input_spec.h"

#include "modeldna/core/error.h"
#include "modeldna/nn/network.h"
#include "network_helpers.h"
#include "test_support.h"

namespace modeldna::nn {
namespace {

TEST(InputSpec, FollowsTheArchitectureAndRoundTrips) {
  auto text_arch = testing::arch_config("text-cnn", 0.25);
  text_arch.input = InputSpec::text(300, 16);
  const auto text = text_arch.input;
  EXPECT_EQ(text.modality, data::Modality::Text);
  EXPECT_EQ(text.shape(5), (std::vector<int64_t>{5, 16}));
  EXPECT_EQ(text.describe(), "16-token texts (vocabulary 300)");
  const auto image = testing::arch_config("mlp").input;
  EXPECT_EQ(image.shape(2), (std::vector<int64_t>{2, 1, 28, 28}));
  EXPECT_EQ(image.describe(), "1x28x28 images");
  EXPECT_NE(image, text);
  auto longer = text_arch;
  longer.input.seq_len = 32;
  EXPECT_NE(text, longer.input);
  for (const auto& f : {text, image}) EXPECT_EQ(InputSpec::from_json(f.to_json()), f);
  EXPECT_THROW_MSG(InputSpec::from_json({{"modality", "audio"}}), UsageError, "image or text");
  EXPECT_THROW_MSG(InputSpec::from_json({{"modality", "text"}, {"vocab_size", 3}, {"seq_len", 16}}), UsageError,
                   "out of range");
  EXPECT_THROW_MSG(InputSpec::from_json({{"modality", "text"}}), UsageError, "bad input spec");
}

// One set of ranges, whichever way a spec arrives: an architecture's JSON
// (tests/nn/*architecture_test.cpp) and a detector's "input" both end here.
TEST(InputSpec, CheckHoldsEveryRange) {
  EXPECT_NO_THROW(InputSpec::image(1, 28).check());
  EXPECT_NO_THROW(InputSpec::text(6, 2).check());
  EXPECT_THROW_MSG(InputSpec::image(0, 28).check(), UsageError, "in_channels out of range");
  EXPECT_THROW_MSG(InputSpec::image(17, 28).check(), UsageError, "in_channels out of range");
  EXPECT_THROW_MSG(InputSpec::image(1, 7).check(), UsageError, "image_size out of range");
  EXPECT_THROW_MSG(InputSpec::image(1, 513).check(), UsageError, "image_size out of range");
  EXPECT_THROW_MSG(InputSpec::text(5, 16).check(), UsageError, "vocab_size out of range");
  EXPECT_THROW_MSG(InputSpec::text(1000001, 16).check(), UsageError, "vocab_size out of range");
  EXPECT_THROW_MSG(InputSpec::text(300, 1).check(), UsageError, "seq_len out of range");
  EXPECT_THROW_MSG(InputSpec::text(300, 4097).check(), UsageError, "seq_len out of range");
  auto mixed = InputSpec::image(1, 28);
  mixed.seq_len = 16;
  EXPECT_THROW_MSG(mixed.check(), UsageError, "an image input has no vocab_size or seq_len");
  EXPECT_THROW_MSG(InputSpec::from_json({{"modality", "image"}, {"in_channels", 1}, {"image_size", 4}}), UsageError,
                   "image_size out of range");
}

TEST(InputSpec, OfABatch) {
  const auto images = InputSpec::of_batch(torch::zeros({4, 3, 32, 32}));
  EXPECT_EQ(images.modality, data::Modality::Image);
  EXPECT_EQ(images.describe(), "3x32x32 images");
  const auto ids = InputSpec::of_batch(torch::zeros({4, 12}, torch::kInt64));
  EXPECT_EQ(ids.modality, data::Modality::Text);
  EXPECT_EQ(ids.describe(), "12-token texts");  // a batch does not know its vocabulary
  EXPECT_THROW_MSG(InputSpec::of_batch(torch::zeros({4, 12})), UsageError, "got 2 dimensions");  // float "ids"
  EXPECT_THROW_MSG(InputSpec::of_batch(torch::zeros({4, 1, 28, 20})), UsageError, "float images");
  EXPECT_THROW_MSG(InputSpec::of_batch(torch::Tensor()), UsageError, "got nothing");
  // A batch matches a spec by shape and dtype.
  const auto mlp = testing::arch_config("mlp").input;
  EXPECT_TRUE(mlp.matches_batch(torch::zeros({7, 1, 28, 28})));
  EXPECT_FALSE(mlp.matches_batch(torch::zeros({7, 1, 32, 32})));
  EXPECT_FALSE(mlp.matches_batch(torch::zeros({7, 1, 28, 28}, torch::kInt64)));
}

}  // namespace
}  // namespace modeldna::nn
