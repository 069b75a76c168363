#include "zip_archive.h"

#include <zlib.h>

#include <algorithm>
#include <set>

#include "byte_reader.h"
#include "readers.h"

namespace modeldna::io::detail {
namespace {

constexpr uint32_t kLocalHeader = 0x04034b50, kCentralHeader = 0x02014b50, kEndOfDirectory = 0x06054b50;
constexpr uint32_t kZip64End = 0x06064b50, kZip64Locator = 0x07064b50;
constexpr uint64_t kMaxComment = 0xFFFF;
// Deflate's largest expansion: 1032 output bytes per input byte (a run
// coded at 258 bytes per 2 bits, zlib's technical notes), plus a few bytes
// for the end of a stream.
constexpr uint64_t kMaxDeflateRatio = 1032;
constexpr uint64_t kDeflateSlack = 1024;

void check_name(const ByteReader& r, const std::string& name) {
  auto refuse = [&](const std::string& why) { r.fail("zip entry " + quote(name) + ": " + why); };
  if (name.empty()) refuse("empty name");
  if (name.front() == '/') refuse("absolute path");
  if (name.find('\\') != std::string::npos) refuse("backslash in name");
  if (name.find('\0') != std::string::npos) refuse("NUL in name");
  std::size_t start = 0;
  while (start <= name.size()) {
    const std::size_t slash = name.find('/', start);
    const std::string_view part(name.data() + start, (slash == std::string::npos ? name.size() : slash) - start);
    if (part == "..") refuse("path traversal ('..')");
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
}

// ZIP64 extended information: the 8-byte values replace, in this order, the
// directory fields that hold 0xFFFFFFFF.
void read_zip64_extra(ByteReader extra, uint64_t* usize, uint64_t* csize, uint64_t* offset, bool need_usize,
                      bool need_csize, bool need_offset) {
  while (extra.remaining() >= 4) {
    const auto id = extra.read<uint16_t>("extra field id");
    const auto length = extra.read<uint16_t>("extra field length");
    extra.need(length, "extra field");
    if (id != 0x0001) {
      extra.skip(length, "extra field");
      continue;
    }
    ByteReader field(extra.path(), extra.here(), length, extra.file_offset());
    if (need_usize) *usize = field.read<uint64_t>("ZIP64 uncompressed size");
    if (need_csize) *csize = field.read<uint64_t>("ZIP64 compressed size");
    if (need_offset) *offset = field.read<uint64_t>("ZIP64 local header offset");
    return;
  }
  if (need_usize || need_csize || need_offset) extra.fail("ZIP64 sizes announced but no ZIP64 extra field");
}

class InflatedBlob final : public Blob {
 public:
  InflatedBlob(std::string path, std::vector<std::byte> bytes) : path_(std::move(path)), bytes_(std::move(bytes)) {}
  const std::byte* data() const override { return bytes_.data(); }
  uint64_t size() const override { return bytes_.size(); }
  const std::string& path() const override { return path_; }

 private:
  std::string path_;
  std::vector<std::byte> bytes_;
};

}  // namespace

bool ZipArchive::looks_like_zip(const std::byte* data, uint64_t size) {
  if (size < 4) return false;
  uint32_t magic;
  std::memcpy(&magic, data, 4);
  return magic == kLocalHeader || magic == kEndOfDirectory;  // an empty archive is only its end record
}

ZipArchive ZipArchive::open(std::shared_ptr<const Blob> file) {
  ZipArchive zip;
  zip.file_ = std::move(file);
  const std::byte* data = zip.file_->data();
  const uint64_t size = zip.file_->size();
  ByteReader whole(zip.file_->path(), data, size);
  if (size < 22) whole.fail("too short for a zip archive (" + std::to_string(size) + " bytes)");

  // The end-of-directory record sits in the last 22 + comment bytes.
  uint64_t end = UINT64_MAX;
  const uint64_t lowest = size > 22 + kMaxComment ? size - 22 - kMaxComment : 0;
  for (uint64_t p = size - 22 + 1; p-- > lowest;) {
    uint32_t magic;
    std::memcpy(&magic, data + p, 4);
    if (magic == kEndOfDirectory) {
      end = p;
      break;
    }
  }
  if (end == UINT64_MAX) whole.fail("no zip end-of-central-directory record");
  ByteReader eocd(zip.file_->path(), data + end, size - end, end);
  eocd.skip(4, "signature");
  const auto disk = eocd.read<uint16_t>("disk number");
  const auto directory_disk = eocd.read<uint16_t>("directory disk");
  eocd.skip(2, "entries on this disk");
  uint64_t count = eocd.read<uint16_t>("entry count");
  uint64_t directory_size = eocd.read<uint32_t>("directory size");
  uint64_t directory_offset = eocd.read<uint32_t>("directory offset");
  if (disk != 0 || directory_disk != 0) eocd.fail("multi-disk zip archives are not supported");

  if (count == 0xFFFF || directory_size == 0xFFFFFFFF || directory_offset == 0xFFFFFFFF) {
    if (end < 20) eocd.fail("ZIP64 locator missing");
    ByteReader locator(zip.file_->path(), data + end - 20, 20, end - 20);
    if (locator.read<uint32_t>("ZIP64 locator signature") != kZip64Locator) locator.fail("ZIP64 locator missing");
    locator.skip(4, "disk");
    const auto record = locator.read<uint64_t>("ZIP64 end record offset");
    whole.seek(record, "ZIP64 end record");
    if (whole.read<uint32_t>("ZIP64 end signature") != kZip64End) whole.fail("bad ZIP64 end record signature");
    whole.skip(8 + 2 + 2 + 4 + 4 + 8, "ZIP64 end record");
    count = whole.read<uint64_t>("ZIP64 entry count");
    directory_size = whole.read<uint64_t>("ZIP64 directory size");
    directory_offset = whole.read<uint64_t>("ZIP64 directory offset");
  }
  if (count > kMaxZipEntries)
    eocd.fail(std::to_string(count) + " zip entries, more than the limit of " + std::to_string(kMaxZipEntries));
  uint64_t directory_end = 0;
  if (__builtin_add_overflow(directory_offset, directory_size, &directory_end) || directory_end > size)
    eocd.fail("central directory [" + std::to_string(directory_offset) + ", +" + std::to_string(directory_size) +
              ") lies outside the file");

  ByteReader dir(zip.file_->path(), data + directory_offset, directory_size, directory_offset);
  std::set<std::string, std::less<>> names;
  zip.entries_.reserve(static_cast<std::size_t>(std::min<uint64_t>(count, 4096)));
  for (uint64_t i = 0; i < count; ++i) {
    if (dir.read<uint32_t>("central directory signature") != kCentralHeader)
      dir.fail("bad central directory entry signature");
    dir.skip(4, "versions");
    const auto flags = dir.read<uint16_t>("flags");
    ZipEntry e;
    e.method = dir.read<uint16_t>("compression method");
    dir.skip(4, "time and date");
    e.crc32 = dir.read<uint32_t>("crc32");
    e.compressed_size = dir.read<uint32_t>("compressed size");
    e.uncompressed_size = dir.read<uint32_t>("uncompressed size");
    const auto name_length = dir.read<uint16_t>("name length");
    const auto extra_length = dir.read<uint16_t>("extra length");
    const auto comment_length = dir.read<uint16_t>("comment length");
    dir.skip(2 + 2 + 4, "disk and attributes");
    uint64_t local_offset = dir.read<uint32_t>("local header offset");
    e.name = std::string(dir.bytes(name_length, "entry name"));
    ByteReader extra(zip.file_->path(), dir.here(), std::min<uint64_t>(extra_length, dir.remaining()),
                     dir.file_offset());
    dir.skip(extra_length, "extra field");
    dir.skip(comment_length, "entry comment");
    read_zip64_extra(extra, &e.uncompressed_size, &e.compressed_size, &local_offset,
                     e.uncompressed_size == 0xFFFFFFFF, e.compressed_size == 0xFFFFFFFF, local_offset == 0xFFFFFFFF);

    check_name(dir, e.name);
    if (!names.insert(e.name).second) dir.fail("duplicate zip entry " + quote(e.name));
    if (flags & 0x1) dir.fail("zip entry " + quote(e.name) + " is encrypted");
    if (e.method != 0 && e.method != 8)
      dir.fail("zip entry " + quote(e.name) + " uses compression method " + std::to_string(e.method) +
               " (only stored and deflated are supported)");
    if (e.method == 0 && e.compressed_size != e.uncompressed_size)
      dir.fail("stored zip entry " + quote(e.name) + " has different compressed and uncompressed sizes");

    // The local header repeats the name; its own extra field may differ in
    // length (PyTorch pads it to align the data).
    ByteReader local(zip.file_->path(), data, size);
    local.seek(local_offset, "local header of " + quote(e.name));
    if (local.read<uint32_t>("local header signature") != kLocalHeader)
      local.fail("bad local header signature for zip entry " + quote(e.name));
    local.skip(22, "local header");
    const auto local_name = local.read<uint16_t>("local name length");
    const auto local_extra = local.read<uint16_t>("local extra length");
    if (local.bytes(local_name, "local name") != e.name)
      local.fail("local header name differs from the directory's for " + quote(e.name));
    local.skip(local_extra, "local extra field");
    e.data_offset = local.position();
    local.need(e.compressed_size, "data of zip entry " + quote(e.name));
    if (e.data_offset + e.compressed_size > directory_offset && e.compressed_size > 0)
      local.fail("data of zip entry " + quote(e.name) + " runs into the central directory");
    zip.entries_.push_back(std::move(e));
  }
  return zip;
}

const ZipEntry* ZipArchive::find(std::string_view name) const {
  for (const auto& e : entries_)
    if (e.name == name) return &e;
  return nullptr;
}

std::shared_ptr<const Blob> ZipArchive::read(const ZipEntry& e) const {
  const std::string path = file_->path() + ":" + e.name;
  if (e.method == 0) return slice_blob(file_, e.data_offset, e.uncompressed_size, path);
  if (e.uncompressed_size > kMaxInflatedBytes)
    throw FormatError(path, "deflated entry of " + std::to_string(e.uncompressed_size) +
                                " bytes exceeds the inflate limit of " + std::to_string(kMaxInflatedBytes));
  // The output is allocated before inflating: a size that its compressed
  // bytes cannot produce is refused first (a 373-byte file declaring 2 GiB
  // made the fuzzer allocate and clear 2 GiB).
  if (e.uncompressed_size > e.compressed_size * kMaxDeflateRatio + kDeflateSlack)
    throw FormatError(path, "deflated entry declares " + std::to_string(e.uncompressed_size) + " bytes from " +
                                std::to_string(e.compressed_size) + " compressed bytes, more than deflate can expand to");
  std::vector<std::byte> out(static_cast<std::size_t>(e.uncompressed_size));
  z_stream zs{};
  if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) throw FormatError(path, "cannot start inflating");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(file_->data() + e.data_offset));
  uint64_t in_left = e.compressed_size, out_done = 0;
  int status = Z_OK;
  while (status == Z_OK) {
    const uInt in_chunk = static_cast<uInt>(std::min<uint64_t>(in_left, 1u << 30));
    const uInt out_chunk = static_cast<uInt>(std::min<uint64_t>(out.size() - out_done, 1u << 30));
    zs.avail_in = in_chunk;
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + out_done);
    zs.avail_out = out_chunk;
    status = inflate(&zs, Z_NO_FLUSH);
    in_left -= in_chunk - zs.avail_in;
    out_done += out_chunk - zs.avail_out;
    if (status == Z_OK && zs.avail_in == in_chunk && zs.avail_out == out_chunk) status = Z_BUF_ERROR;  // no progress
  }
  inflateEnd(&zs);
  if (status != Z_STREAM_END || out_done != out.size())
    throw FormatError(path, "corrupt deflate data (or larger than its declared " +
                                std::to_string(e.uncompressed_size) + " bytes)");
  uLong running = crc32(0L, Z_NULL, 0);
  for (uint64_t done = 0; done < out.size();) {
    const uInt chunk = static_cast<uInt>(std::min<uint64_t>(out.size() - done, 1u << 30));
    running = crc32(running, reinterpret_cast<const Bytef*>(out.data() + done), chunk);
    done += chunk;
  }
  if (running != e.crc32) throw FormatError(path, "CRC mismatch after inflating");
  return std::make_shared<InflatedBlob>(path, std::move(out));
}

}  // namespace modeldna::io::detail
