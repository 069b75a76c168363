// Blobs: memory-mapped files and owned buffers behind a TensorStore.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>

#include "modeldna/core/error.h"
#include "modeldna/core/sha256.h"
#include "modeldna/io/tensor_store.h"

namespace modeldna::io {
namespace {

// The whole file, read-only. An empty file maps nothing (mmap refuses length
// 0) and reads as zero bytes.
class MappedFile final : public Blob {
 public:
  explicit MappedFile(std::string path) : path_(std::move(path)) {
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw FormatError(path_, std::string("cannot open file: ") + std::strerror(errno));
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      throw FormatError(path_, "not a regular file");
    }
    size_ = static_cast<uint64_t>(st.st_size);
    if (size_ > 0) {
      void* map = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      const int map_errno = errno;
      ::close(fd);
      if (map == MAP_FAILED) throw FormatError(path_, std::string("cannot map file: ") + std::strerror(map_errno));
      map_ = map;
    } else {
      ::close(fd);
    }
  }
  ~MappedFile() override {
    if (map_) munmap(map_, size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::byte* data() const override { return static_cast<const std::byte*>(map_); }
  uint64_t size() const override { return size_; }
  const std::string& path() const override { return path_; }
  void release(uint64_t offset, uint64_t size) const override {
    if (!map_ || size == 0 || offset >= size_) return;
    // Whole pages inside the range only: a neighbour's bytes stay mapped.
    const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
    const uint64_t begin = (offset + page - 1) / page * page, end = std::min(offset + size, size_) / page * page;
    if (end > begin) madvise(static_cast<char*>(map_) + begin, end - begin, MADV_DONTNEED);
  }

 private:
  std::string path_;
  void* map_ = nullptr;
  uint64_t size_ = 0;
};

class OwnedBlob final : public Blob {
 public:
  OwnedBlob(std::string path, std::vector<std::byte> bytes) : path_(std::move(path)), bytes_(std::move(bytes)) {}
  const std::byte* data() const override { return bytes_.data(); }
  uint64_t size() const override { return bytes_.size(); }
  const std::string& path() const override { return path_; }

 private:
  std::string path_;
  std::vector<std::byte> bytes_;
};

}  // namespace

std::shared_ptr<const Blob> map_file(const std::string& path) { return std::make_shared<MappedFile>(path); }

std::string file_sha256(const std::string& path) {
  constexpr uint64_t kSlice = 64ull << 20;
  const auto blob = map_file(path);
  Sha256 h;
  for (uint64_t begin = 0; begin < blob->size(); begin += kSlice) {
    const uint64_t size = std::min(kSlice, blob->size() - begin);
    h.update(blob->data() + begin, size);
    blob->release(begin, size);
  }
  return h.hex();
}

std::shared_ptr<const Blob> owned_blob(std::string path, std::vector<std::byte> bytes) {
  return std::make_shared<OwnedBlob>(std::move(path), std::move(bytes));
}

}  // namespace modeldna::io
