#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "modeldna/core/error.h"
#include "modeldna/core/json_file.h"
#include "modeldna/data/image_set.h"
#include "test_support.h"

namespace modeldna::data {
namespace {

using testing::ScopedEnv;

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

std::string idx(uint32_t magic, const std::vector<uint32_t>& dims, const std::string& payload) {
  std::string out = be32(magic);
  for (uint32_t d : dims) out += be32(d);
  return out + payload;
}

std::string gzip(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  EXPECT_NE(f, nullptr);
  EXPECT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
  gzclose(f);
  return path;
}

std::string raw(const std::string& path, const std::string& bytes) {
  testing::write_bytes(path, bytes);
  return path;
}

// 3 images of 2x4 and their labels.
const std::string kPixels = "abcdefghijklmnopqrstuvwx";
const std::string kLabels = std::string("\x00\x01\x09", 3);
std::string images_file() { return idx(0x803, {3, 2, 4}, kPixels); }
std::string labels_file() { return idx(0x801, {3}, kLabels); }

void expect_sample(const ImageSet& set) {
  EXPECT_EQ(set.rows, 2);
  EXPECT_EQ(set.cols, 4);
  EXPECT_EQ(set.size(), 3);
  EXPECT_EQ(std::string(set.pixels.begin(), set.pixels.end()), kPixels);
  EXPECT_EQ(set.labels, (std::vector<uint8_t>{0, 1, 9}));
}

TEST(IdxReader, RawPairReadsBackExactly) {
  const std::string dir = testing::fresh_temp_dir();
  expect_sample(read_idx_pair(raw(dir + "/i", images_file()), raw(dir + "/l", labels_file())));
}

TEST(IdxReader, GzipPairReadsBackExactly) {
  const std::string dir = testing::fresh_temp_dir();
  expect_sample(read_idx_pair(gzip(dir + "/i.gz", images_file()), gzip(dir + "/l.gz", labels_file())));
  // Each file is detected on its own.
  expect_sample(read_idx_pair(gzip(dir + "/i.gz", images_file()), raw(dir + "/l", labels_file())));
}

TEST(IdxReader, EmptySetIsValid) {
  const std::string dir = testing::fresh_temp_dir();
  const ImageSet set = read_idx_pair(raw(dir + "/i", idx(0x803, {0, 28, 28}, "")),
                                     raw(dir + "/l", idx(0x801, {0}, "")));
  EXPECT_EQ(set.size(), 0);
  EXPECT_EQ(set.rows, 28);
}

TEST(IdxReader, WrongMagicIsRefused) {
  const std::string dir = testing::fresh_temp_dir();
  const std::string labels = raw(dir + "/l", labels_file());
  EXPECT_THROW_MSG(read_idx_pair(raw(dir + "/i", idx(0xd03, {3, 2, 4}, kPixels)), labels), FormatError,
                   dir + "/i: wrong magic 0x00000d03 (expected 0x00000803, IDX u8 images)");
  EXPECT_THROW_MSG(read_idx_pair(raw(dir + "/png", "\x89PNG\r\n\x1a\n...."), labels), FormatError,
                   "/png: wrong magic 0x89504e47");
  EXPECT_THROW_MSG(read_idx_pair(raw(dir + "/i", images_file()), raw(dir + "/l2", idx(0x1801, {3}, kLabels))),
                   FormatError, "/l2: wrong magic 0x00001801 (expected 0x00000801, IDX u8 labels)");
}

TEST(IdxReader, WrongDimensionCountIsRefused) {
  const std::string dir = testing::fresh_temp_dir();
  // Labels and images swapped: both are u8 IDX, with the wrong dimensions.
  EXPECT_THROW_MSG(read_idx_pair(raw(dir + "/l", labels_file()), raw(dir + "/i", images_file())),
                   FormatError, dir + "/l: wrong dimension count 1 in magic 0x00000801 (expected 3");
  EXPECT_THROW_MSG(
      read_idx_pair(raw(dir + "/i", images_file()), raw(dir + "/l2", idx(0x802, {3, 1}, kLabels))),
      FormatError, dir + "/l2: wrong dimension count 2");
}

TEST(IdxReader, TruncatedFilesAreRefused) {
  const std::string dir = testing::fresh_temp_dir();
  const std::string labels = raw(dir + "/l", labels_file());
  const std::string short_images = idx(0x803, {3, 2, 4}, kPixels.substr(0, 10));
  EXPECT_THROW_MSG(read_idx_pair(raw(dir + "/i", short_images), labels), FormatError,
                   dir + "/i: truncated: expected 24 bytes of pixels, found 10");
  EXPECT_THROW_MSG(read_idx_pair(gzip(dir + "/i.gz", short_images), labels), FormatError,
                   dir + "/i.gz: truncated: expected 24 bytes of pixels, found 10");
  EXPECT_THROW_MSG(read_idx_pair(raw(dir + "/i", images_file()), raw(dir + "/l2", idx(0x801, {3}, "\x01"))),
                   FormatError, "/l2: truncated: expected 3 bytes of labels, found 1");
  EXPECT_THROW_MSG(read_idx_pair(raw(dir + "/h", images_file().substr(0, 7)), labels), FormatError,
                   "/h: truncated: header needs 16 bytes, found 7");
  EXPECT_THROW_MSG(read_idx_pair(raw(dir + "/e", ""), labels), FormatError, "/e: empty file");
}

TEST(IdxReader, TrailingDataIsRefused) {
  const std::string dir = testing::fresh_temp_dir();
  const std::string labels = raw(dir + "/l", labels_file());
  EXPECT_THROW_MSG(read_idx_pair(raw(dir + "/i", images_file() + "X"), labels), FormatError,
                   dir + "/i: trailing data after the 24 bytes of pixels");
  // A gzip bomb in miniature: a tiny header, megabytes of zeros behind it.
  const std::string bomb = idx(0x803, {1, 1, 1}, std::string(8 << 20, '\0'));
  EXPECT_THROW_MSG(read_idx_pair(gzip(dir + "/bomb.gz", bomb), raw(dir + "/l1", idx(0x801, {1}, "\x01"))),
                   FormatError, "/bomb.gz: trailing data after the 1 bytes of pixels");
}

TEST(IdxReader, OversizedHeaderIsRefusedBeforeReading) {
  const std::string dir = testing::fresh_temp_dir();
  EXPECT_THROW_MSG(read_idx_pair(raw(dir + "/i", idx(0x803, {60000, 100000, 100000}, "")),
                                 raw(dir + "/l", labels_file())),
                   FormatError, "/i: header declares more than 1073741824 bytes of pixels");
  EXPECT_THROW_MSG(read_idx_pair(raw(dir + "/i", idx(0x803, {0xffffffff, 0xffffffff, 0xffffffff}, "")),
                                 raw(dir + "/l", labels_file())),
                   FormatError, "the limit");
}

TEST(IdxReader, CountMismatchNamesBothFiles) {
  const std::string dir = testing::fresh_temp_dir();
  EXPECT_THROW_MSG(
      read_idx_pair(raw(dir + "/i", images_file()), raw(dir + "/l", idx(0x801, {2}, "\x01\x02"))),
      FormatError, dir + "/i: image count 3 does not match label count 2 in " + dir + "/l");
}

TEST(IdxReader, CorruptGzipIsRefused) {
  const std::string dir = testing::fresh_temp_dir();
  const std::string labels = raw(dir + "/l", idx(0x801, {100}, std::string(100, '\1')));
  std::string pixels(10000, '\0');  // poorly compressible, so a cut lands mid-stream
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<char>(i * i * 7919 % 251);
  const std::string images = idx(0x803, {100, 10, 10}, pixels);
  const std::string gz = read_file(gzip(dir + "/good.gz", images));

  std::string flipped = gz;
  for (size_t i = 20; i < 40; ++i) flipped[i] = static_cast<char>(~flipped[i]);
  EXPECT_THROW_MSG(read_idx_pair(raw(dir + "/flipped.gz", flipped), labels), FormatError,
                   "/flipped.gz: corrupt gzip data");

  std::string bad_crc = gz;
  bad_crc[bad_crc.size() - 6] = static_cast<char>(~bad_crc[bad_crc.size() - 6]);
  EXPECT_THROW_MSG(read_idx_pair(raw(dir + "/crc.gz", bad_crc), labels),
                   FormatError, "/crc.gz: corrupt gzip data: incorrect data check");

  EXPECT_THROW_MSG(read_idx_pair(raw(dir + "/cut.gz", gz.substr(0, gz.size() / 2)), labels), FormatError,
                   "/cut.gz: corrupt gzip data");
  EXPECT_THROW_MSG(read_idx_pair(raw(dir + "/header.gz", "\x1f\x8b\xff\xff garbage"), labels),
                   FormatError, "/header.gz: corrupt gzip data");
}

TEST(IdxReader, MissingFileIsNamed) {
  const std::string dir = testing::fresh_temp_dir();
  EXPECT_THROW_MSG(read_idx_pair(dir + "/nope", raw(dir + "/l", labels_file())), FormatError,
                   dir + "/nope: cannot open file");
  EXPECT_THROW_MSG(read_idx_pair(raw(dir + "/i", images_file()), dir + "/nope.gz"), FormatError,
                   dir + "/nope.gz: cannot open file");
}

TEST(FashionMnist, ReadsAHandmadeFolderAndChecksIt) {
  const std::string dir = testing::fresh_temp_dir();
  ScopedEnv env("MODELDNA_FASHION_MNIST_DIR", dir.c_str());
  // Raw (not gzipped) files are found too.
  raw(dir + "/t10k-images-idx3-ubyte", idx(0x803, {2, 28, 28}, std::string(2 * 784, '\x7f')));
  raw(dir + "/t10k-labels-idx1-ubyte", idx(0x801, {2}, "\x03\x09"));
  const ImageSet set = load_fashion_mnist(Split::Test);
  EXPECT_EQ(set.size(), 2);
  EXPECT_EQ(set.labels, (std::vector<uint8_t>{3, 9}));

  raw(dir + "/t10k-labels-idx1-ubyte", idx(0x801, {2}, "\x03\x0c"));
  EXPECT_THROW_MSG(load_fashion_mnist(Split::Test), FormatError,
                   "t10k-labels-idx1-ubyte: label 12 at index 1 out of range (expected 0..9)");

  gzip(dir + "/t10k-images-idx3-ubyte.gz", idx(0x803, {2, 3, 3}, std::string(18, '\0')));
  EXPECT_THROW_MSG(load_fashion_mnist(Split::Test), FormatError,
                   "t10k-images-idx3-ubyte.gz: images are 3x3, Fashion-MNIST's are 28x28");

  EXPECT_THROW_MSG(load_fashion_mnist(Split::Train), FormatError,
                   dir + "/train-images-idx3-ubyte.gz: cannot open file (install the Debian package "
                         "dataset-fashion-mnist");
}

TEST(FashionMnist, RealTestSplitLoads) {
  ScopedEnv env("MODELDNA_FASHION_MNIST_DIR", nullptr);
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"))
    MODELDNA_MISSING("Debian package dataset-fashion-mnist");
  const ImageSet set = load_fashion_mnist(Split::Test);
  ASSERT_EQ(set.size(), 10000);
  EXPECT_EQ(set.rows, 28);
  EXPECT_EQ(set.cols, 28);
  EXPECT_EQ(set.pixels.size(), 10000u * 28 * 28);
  std::vector<int> per_class(10);
  for (uint8_t label : set.labels) {
    ASSERT_LT(label, 10);
    ++per_class[label];
  }
  EXPECT_EQ(per_class, std::vector<int>(10, 1000));  // the test split is balanced
}

}  // namespace
}  // namespace modeldna::data
