#include "modeldna/io/convert.h"

#include <filesystem>
#include <vector>

#include "modeldna/core/error.h"
#include "modeldna/io/dequantize.h"
#include "modeldna/io/safetensors.h"

namespace modeldna::io {
namespace {

// Elements converted per pass: the peak memory of a conversion.
constexpr int64_t kChunk = 1 << 20;

DType target_dtype(const TensorInfo& t, ConvertDType mode) {
  const auto kind = traits(t.dtype).kind;
  const bool quantized = is_block(t.dtype) || t.quantization.has_value();
  if ((kind == DTypeKind::Integer || kind == DTypeKind::Bool) && !quantized) return t.dtype;
  switch (mode) {
    case ConvertDType::F32: return DType::F32;
    case ConvertDType::F16: return DType::F16;
    case ConvertDType::Keep: return quantized ? DType::F32 : t.dtype;
  }
  return DType::F32;
}

// A plain tensor's bytes in logical row-major order: one write when
// contiguous, element by element along its strides otherwise.
void write_raw(const TensorStore& store, const TensorInfo& t, std::ostream& os) {
  const std::byte* base = store.bytes(t);
  if (t.contiguous()) {
    os.write(reinterpret_cast<const char*>(base), static_cast<std::streamsize>(t.size_bytes));
    return;
  }
  const std::size_t size = dtype_size(t.dtype), rank = t.shape.size();
  std::vector<int64_t> index(rank, 0);
  for (int64_t i = 0, n = t.numel(); i < n; ++i) {
    int64_t element = 0;
    for (std::size_t d = 0; d < rank; ++d) element += index[d] * t.strides[d];
    os.write(reinterpret_cast<const char*>(base + static_cast<uint64_t>(element) * size), static_cast<std::streamsize>(size));
    for (std::size_t d = rank; d-- > 0;) {
      if (++index[d] < t.shape[d]) break;
      index[d] = 0;
    }
  }
}

std::string metadata_text(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

ConvertDType parse_convert_dtype(const std::string& text) {
  if (text == "f32") return ConvertDType::F32;
  if (text == "f16") return ConvertDType::F16;
  if (text == "keep") return ConvertDType::Keep;
  throw UsageError("the dtype must be f32, f16 or keep, not '" + text + "'");
}

std::optional<Layout> parse_layout(std::string_view name) {
  for (Layout l : {Layout::Unknown, Layout::OI, Layout::IO, Layout::OIHW, Layout::OHWI, Layout::HWIO, Layout::IHWO,
                   Layout::HWCM, Layout::HWOI, Layout::IOHW})
    if (layout_name(l) == name) return l;
  return std::nullopt;
}

std::optional<Role> parse_role(std::string_view name) {
  for (Role r : {Role::Unknown, Role::Weight, Role::Bias, Role::NormScale, Role::NormShift, Role::RunningStat,
                 Role::Embedding, Role::QuantParam, Role::Constant, Role::Optimizer})
    if (role_name(r) == name) return r;
  return std::nullopt;
}

ConvertResult convert_to_safetensors(const TensorStore& store, const std::string& out, ConvertDType mode) {
  std::error_code ec;
  for (const auto& file : store.files())
    if (std::filesystem::equivalent(file, out, ec))
      throw UsageError("the output " + out + " is the input file itself; choose another path");

  std::map<std::string, std::string> metadata;
  for (const auto& item : store.metadata().items())
    if (item.key() != "__metadata__") metadata[item.key()] = metadata_text(item.value());
  metadata[kSourceFormatKey] = std::string(format_name(store.format()));
  nlohmann::json layouts = nlohmann::json::object(), roles = nlohmann::json::object();
  ConvertResult result;
  std::vector<TensorToStream> tensors;
  for (const TensorInfo& t : store.tensors()) {
    // Every tensor's tags, Unknown included: the reader would otherwise
    // guess them again from names.
    layouts[t.name] = layout_name(t.layout);
    roles[t.name] = role_name(t.role);
    const DType target = target_dtype(t, mode);
    const bool raw = target == t.dtype;  // plain types kept as stored
    if (target != t.dtype && (is_block(t.dtype) || t.quantization)) ++result.dequantized;
    tensors.push_back({t.name, target, t.shape, [&store, &t, target, raw](std::ostream& os) {
                         if (raw) return write_raw(store, t, os);
                         const int64_t n = t.numel();
                         std::vector<float> chunk;
                         std::vector<uint16_t> half;
                         for (int64_t begin = 0; begin < n; begin += kChunk) {
                           const int64_t count = std::min(kChunk, n - begin);
                           chunk.resize(static_cast<std::size_t>(count));
                           store.read_f32(t, begin, count, chunk.data());
                           if (target == DType::F32) {
                             os.write(reinterpret_cast<const char*>(chunk.data()), static_cast<std::streamsize>(count * 4));
                             continue;
                           }
                           MDNA_ASSERT(target == DType::F16, "convert: unexpected target dtype");
                           half.resize(chunk.size());
                           for (std::size_t i = 0; i < chunk.size(); ++i) half[i] = f32_to_f16(chunk[i]);
                           os.write(reinterpret_cast<const char*>(half.data()), static_cast<std::streamsize>(count * 2));
                         }
                       }});
    const auto bytes = bytes_for(target, static_cast<uint64_t>(t.numel()));
    result.bytes_written += bytes.value_or(0);
    ++result.tensors;
  }
  if (!layouts.empty()) metadata[kLayoutsKey] = layouts.dump();
  if (!roles.empty()) metadata[kRolesKey] = roles.dump();
  write_safetensors_streaming(out, tensors, metadata);
  return result;
}

}  // namespace modeldna::io
