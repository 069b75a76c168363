// IDX files (the MNIST family's format), gzipped or raw, from untrusted disks.
// Layout: big-endian u32 magic 0x000008NN (u8 elements, NN dimensions), NN
// big-endian u32 sizes, then the elements. Everything is checked against the
// header before it is trusted, and the header is capped so that a small
// (possibly gzipped) file cannot make us allocate or inflate without bound.
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "modeldna/core/error.h"
#include "modeldna/data/image_set.h"

namespace modeldna::data {
namespace {

// Far above any real IDX file (Fashion-MNIST train images: 47 MB), far below
// what would hurt a machine.
constexpr uint64_t kMaxPayloadBytes = 1ull << 30;
// Read in chunks so that memory follows the data actually present, not what a
// (possibly lying) header declares.
constexpr size_t kChunkBytes = 4u << 20;

struct IdxKind {
  uint32_t magic;
  uint32_t dims;
  const char* what;          // for "expected 0x00000803, IDX u8 images"
  const char* dim_names;     // for "expected 3: count, rows, cols"
  const char* payload_name;  // for "expected N bytes of pixels"
};
constexpr IdxKind kImages{0x00000803, 3, "IDX u8 images", "count, rows, cols", "pixels"};
constexpr IdxKind kLabels{0x00000801, 1, "IDX u8 labels", "count", "labels"};

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", static_cast<unsigned>(v));
  return buf;
}

uint32_t load_be32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// One IDX file whose header has been read and validated. zlib's gzFile reads
// gzip (recognised by its magic bytes 1f 8b) and passes other files through
// unchanged, so raw and gzipped files share one code path.
class IdxFile {
 public:
  IdxFile(std::string path, const IdxKind& kind) : path_(std::move(path)), kind_(kind) {
    errno = 0;
    file_.reset(gzopen(path_.c_str(), "rb"));
    if (!file_) {
      fail(errno ? std::string("cannot open file: ") + std::strerror(errno) : "cannot open file");
    }
    gzbuffer(file_.get(), 1u << 17);
    read_header();
  }

  const std::string& path() const { return path_; }
  uint32_t dim(size_t i) const { return dims_[i]; }

  // Reads exactly the payload the header declares, then insists on the end of
  // the file (which, for gzip, also makes zlib verify the CRC).
  std::vector<uint8_t> read_payload() {
    std::vector<uint8_t> data;
    data.reserve(static_cast<size_t>(std::min<uint64_t>(payload_bytes_, 64u << 20)));
    uint64_t got = 0;
    while (got < payload_bytes_) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(payload_bytes_ - got, kChunkBytes));
      data.resize(static_cast<size_t>(got) + want);
      const size_t n = read_some(data.data() + got, want);
      got += n;
      if (n < want) {
        fail("truncated: expected " + std::to_string(payload_bytes_) + " bytes of " +
             kind_.payload_name + ", found " + std::to_string(got));
      }
    }
    unsigned char extra;
    if (read_some(&extra, 1) != 0) {
      fail("trailing data after the " + std::to_string(payload_bytes_) + " bytes of " +
           kind_.payload_name + " the header declares");
    }
    return data;
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const { throw FormatError(path_, problem); }

  // Returns fewer than n bytes only at the end of the data; throws on I/O or
  // gzip errors (zlib reports a cut-off gzip stream as a short read plus an
  // error code, so the code is checked after every short read).
  size_t read_some(void* dst, size_t n) {
    size_t got = 0;
    while (got < n) {
      const unsigned want = static_cast<unsigned>(std::min<size_t>(n - got, kChunkBytes));
      const int r = gzread(file_.get(), static_cast<unsigned char*>(dst) + got, want);
      if (r > 0) got += static_cast<size_t>(r);
      if (r < 0 || static_cast<unsigned>(r) < want) {
        check_stream();
        break;
      }
    }
    return got;
  }

  void check_stream() const {
    int code = Z_OK;
    const char* message = gzerror(file_.get(), &code);
    if (code == Z_OK) return;
    if (code == Z_ERRNO) fail(std::string("read error: ") + std::strerror(errno));
    if (code == Z_BUF_ERROR) fail("corrupt gzip data: unexpected end of the compressed stream");
    // zlib prefixes its message with the path, which FormatError adds already.
    std::string text = message ? message : "unknown zlib error";
    if (text.rfind(path_ + ": ", 0) == 0) text.erase(0, path_.size() + 2);
    fail("corrupt gzip data: " + text);
  }

  void read_header() {
    unsigned char raw[4];
    const size_t n = read_some(raw, 4);
    if (n == 0) fail("empty file (expected an " + std::string(kind_.what) + " file)");
    if (n < 4) fail("truncated: IDX magic needs 4 bytes, found " + std::to_string(n));
    const uint32_t magic = load_be32(raw);
    const std::string expected = " (expected " + hex32(kind_.magic) + ", " + kind_.what + ")";
    // 0x000008NN is u8 data with NN dimensions: a right type but wrong count
    // gets its own message, anything else is not the file we want.
    if ((magic & 0xffffff00u) != 0x00000800u) fail("wrong magic " + hex32(magic) + expected);
    if ((magic & 0xffu) != kind_.dims) {
      fail("wrong dimension count " + std::to_string(magic & 0xffu) + " in magic " + hex32(magic) +
           " (expected " + std::to_string(kind_.dims) + ": " + kind_.dim_names + ")");
    }
    uint64_t total = 1;
    for (uint32_t i = 0; i < kind_.dims; ++i) {
      const size_t header_bytes = 4 + 4 * static_cast<size_t>(kind_.dims);
      const size_t got = read_some(raw, 4);
      if (got < 4) {
        fail("truncated: header needs " + std::to_string(header_bytes) + " bytes, found " +
             std::to_string(4 + 4 * i + got));
      }
      const uint32_t d = load_be32(raw);
      dims_.push_back(d);
      // Each factor is < 2^32 and total stays <= 2^30 before it, so the
      // product fits in 64 bits; the cap is checked before it can grow further.
      total *= d;
      if (total > kMaxPayloadBytes) {
        fail("header declares more than " + std::to_string(kMaxPayloadBytes) + " bytes of " +
             kind_.payload_name + " (the limit)");
      }
    }
    payload_bytes_ = total;
    if (kind_.dims == 3 && (dims_[1] == 0 || dims_[2] == 0) && dims_[0] != 0) {
      fail("image size " + std::to_string(dims_[1]) + "x" + std::to_string(dims_[2]) + " is empty");
    }
  }

  std::string path_;
  IdxKind kind_;
  // Owned from the start, so a header error thrown by the constructor closes it.
  struct GzClose {
    void operator()(gzFile f) const { gzclose(f); }
  };
  std::unique_ptr<gzFile_s, GzClose> file_;
  std::vector<uint32_t> dims_;
  uint64_t payload_bytes_ = 0;
};

}  // namespace

ImageSet read_idx_pair(const std::string& images_path, const std::string& labels_path) {
  // Both headers first: a count mismatch is reported before inflating pixels.
  IdxFile images(images_path, kImages);
  IdxFile labels(labels_path, kLabels);
  if (images.dim(0) != labels.dim(0)) {
    throw FormatError(images_path, "image count " + std::to_string(images.dim(0)) +
                                       " does not match label count " +
                                       std::to_string(labels.dim(0)) + " in " + labels_path);
  }
  ImageSet set;
  set.rows = images.dim(1);
  set.cols = images.dim(2);
  set.pixels = images.read_payload();
  set.labels = labels.read_payload();
  return set;
}

}  // namespace modeldna::data
