// Fashion-MNIST as Debian's dataset-fashion-mnist installs it (gzipped IDX).
#include <cstdlib>
#include <filesystem>
#include <string>

#include "modeldna/core/error.h"
#include "modeldna/data/image_set.h"

namespace modeldna::data {
namespace {

constexpr int kFashionSide = 28;
constexpr int kClasses = 10;

std::string fashion_dir() {
  const char* env = std::getenv("MODELDNA_FASHION_MNIST_DIR");
  return env && *env ? env : "/usr/share/datasets/fashion-mnist";
}

// Debian ships "<stem>.gz"; a hand-made folder may hold the raw "<stem>".
// When neither exists the .gz name is the one reported.
std::string find_file(const std::string& dir, const std::string& stem) {
  namespace fs = std::filesystem;
  const std::string gz = dir + "/" + stem + ".gz";
  const std::string raw = dir + "/" + stem;
  std::error_code ec;
  if (fs::exists(gz, ec)) return gz;
  if (fs::exists(raw, ec)) return raw;
  throw FormatError(gz, "cannot open file (install the Debian package dataset-fashion-mnist, "
                        "or set MODELDNA_FASHION_MNIST_DIR to a folder holding it)");
}

}  // namespace

ImageSet load_fashion_mnist(Split split) {
  const std::string dir = fashion_dir();
  const std::string prefix = split == Split::Train ? "train" : "t10k";
  const std::string images_path = find_file(dir, prefix + "-images-idx3-ubyte");
  const std::string labels_path = find_file(dir, prefix + "-labels-idx1-ubyte");
  ImageSet set = read_idx_pair(images_path, labels_path);
  if (set.rows != kFashionSide || set.cols != kFashionSide) {
    throw FormatError(images_path, "images are " + std::to_string(set.rows) + "x" +
                                       std::to_string(set.cols) + ", Fashion-MNIST's are 28x28");
  }
  for (size_t i = 0; i < set.labels.size(); ++i) {
    if (set.labels[i] >= kClasses) {
      throw FormatError(labels_path, "label " + std::to_string(set.labels[i]) + " at index " +
                                         std::to_string(i) + " out of range (expected 0..9)");
    }
  }
  return set;
}

}  // namespace modeldna::data
