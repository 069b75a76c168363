// Helpers shared by the readers: name-based tagging, blob slices, paths a
// manifest names, UTF-8 sanitising.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <regex>

#include "byte_reader.h"
#include "readers.h"

namespace modeldna::io::detail {
namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

// Hugging Face GPT-2's Conv1D weights (h.N.attn.c_attn, attn.c_proj,
// mlp.c_fc, mlp.c_proj) are stored [in, out]; llama.cpp's converter
// transposes them. Other models' c_fc / c_proj (CLIP's) are Linear, [out, in].
bool is_gpt2_conv1d(const std::string& name) {
  static const std::regex kConv1d(R"((^|\.)h\.[0-9]+\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight$)");
  return std::regex_search(name, kConv1d);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

class SliceBlob final : public Blob {
 public:
  SliceBlob(std::shared_ptr<const Blob> parent, uint64_t offset, uint64_t size, std::string path)
      : parent_(std::move(parent)), offset_(offset), size_(size), path_(std::move(path)) {}
  const std::byte* data() const override { return parent_->data() + offset_; }
  uint64_t size() const override { return size_; }
  const std::string& path() const override { return path_; }
  void release(uint64_t offset, uint64_t size) const override { parent_->release(offset_ + offset, size); }

 private:
  std::shared_ptr<const Blob> parent_;
  uint64_t offset_, size_;
  std::string path_;
};

}  // namespace

void tag_by_name(TensorInfo& t) {
  const auto kind = traits(t.dtype).kind;
  const std::string name = lower(t.name);
  const std::size_t rank = t.shape.size();
  if (ends_with(name, "running_mean") || ends_with(name, "running_var") || ends_with(name, "num_batches_tracked") ||
      ends_with(name, "moving_mean") || ends_with(name, "moving_variance")) {
    t.role = Role::RunningStat;
  } else if ((kind == DTypeKind::Integer || kind == DTypeKind::Bool) && !t.quantization) {
    t.role = Role::Constant;  // indices, masks, position ids
  } else if (ends_with(name, "bias") || ends_with(name, ".b")) {
    const bool norm = contains(name, "norm") || contains(name, "ln_") || contains(name, ".ln") ||
                      contains(name, "bn");
    t.role = (norm && rank == 1) ? Role::NormShift : Role::Bias;
  } else if (rank == 1 && (contains(name, "norm") || contains(name, "ln_") || contains(name, ".ln") ||
                           contains(name, "bn") || ends_with(name, "gamma") || ends_with(name, "scale"))) {
    t.role = Role::NormScale;
  } else if (rank == 2 && (contains(name, "embed") || contains(name, "wte") || contains(name, "wpe") ||
                           contains(name, "token_embd") || contains(name, "tok_embeddings"))) {
    t.role = Role::Embedding;
  } else if (rank >= 2) {
    t.role = Role::Weight;
    t.layout = rank == 2 ? (is_gpt2_conv1d(name) ? Layout::IO : Layout::OI) : Layout::OIHW;
  }
}

std::shared_ptr<const Blob> slice_blob(std::shared_ptr<const Blob> parent, uint64_t offset, uint64_t size,
                                       std::string path) {
  uint64_t end = 0;
  if (__builtin_add_overflow(offset, size, &end) || end > parent->size())
    throw FormatError(parent->path(), "range [" + std::to_string(offset) + ", +" + std::to_string(size) +
                                          ") exceeds the " + std::to_string(parent->size()) + "-byte file");
  if (path.empty()) path = parent->path();
  return std::make_shared<SliceBlob>(std::move(parent), offset, size, std::move(path));
}

std::string resolve_inside(const std::string& manifest, const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path relative(name);
  auto refuse = [&](const std::string& why) {
    throw FormatError(manifest, "refusing file name " + quote(name) + ": " + why);
  };
  if (name.empty()) refuse("empty");
  if (relative.is_absolute()) refuse("absolute path");
  if (name.find('\0') != std::string::npos) refuse("NUL byte");
  for (const auto& part : relative)
    if (part == "..") refuse("it leaves the manifest's folder");
  const fs::path folder = fs::path(manifest).parent_path();
  return (folder / relative).lexically_normal().string();
}

std::string sanitize_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = s[i];
    std::size_t length = 0;
    uint32_t code = 0;
    if (c < 0x80) { length = 1; code = c; }
    else if ((c & 0xE0) == 0xC0) { length = 2; code = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { length = 3; code = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { length = 4; code = c & 0x07; }
    bool valid = length > 0 && i + length <= n;
    for (std::size_t k = 1; valid && k < length; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) valid = false;
      else code = (code << 6) | (s[i + k] & 0x3F);
    }
    // No overlong forms, surrogates or code points past U+10FFFF.
    if (valid && ((length == 2 && code < 0x80) || (length == 3 && code < 0x800) || (length == 4 && code < 0x10000) ||
                  (code >= 0xD800 && code <= 0xDFFF) || code > 0x10FFFF))
      valid = false;
    if (valid) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

}  // namespace modeldna::io::detail
