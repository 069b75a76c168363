#include "modeldna/nn/tensor_io.h"

#include <cstring>

#include "modeldna/core/error.h"
#include "modeldna/io/safetensors.h"

namespace modeldna::nn {
namespace {

io::DType to_io_dtype(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat32: return io::DType::F32;
    case torch::kFloat64: return io::DType::F64;
    case torch::kInt64: return io::DType::I64;
    case torch::kInt32: return io::DType::I32;
    case torch::kInt8: return io::DType::I8;
    case torch::kUInt8: return io::DType::U8;
    case torch::kInt16: return io::DType::I16;
    case torch::kFloat16: return io::DType::F16;
    case torch::kBFloat16: return io::DType::BF16;
    case torch::kBool: return io::DType::BOOL;
    default: throw UsageError(std::string("cannot save tensors of type ") + c10::toString(t));
  }
}

torch::ScalarType to_torch_dtype(io::DType t) {
  switch (t) {
    case io::DType::F32: return torch::kFloat32;
    case io::DType::F64: return torch::kFloat64;
    case io::DType::F16: return torch::kFloat16;
    case io::DType::BF16: return torch::kBFloat16;
    case io::DType::I64: return torch::kInt64;
    case io::DType::I32: return torch::kInt32;
    case io::DType::I16: return torch::kInt16;
    case io::DType::I8: return torch::kInt8;
    case io::DType::U8: return torch::kUInt8;
    case io::DType::BOOL: return torch::kBool;
    default: break;
  }
  throw FormatError("", std::string("tensors of type ") + std::string(io::dtype_name(t)) + " cannot be loaded as torch tensors");
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Copies a tensor out of the store into one we own: bytes as they are for
// plain contiguous types torch has, float32 values otherwise.
torch::Tensor copy_out(const io::TensorStore& store, const io::TensorInfo& info) {
  const bool plain = !io::is_block(info.dtype) && !info.quantization && info.contiguous() &&
                     info.dtype != io::DType::F8_E4M3 && info.dtype != io::DType::F8_E5M2 &&
                     info.dtype != io::DType::U64 && info.dtype != io::DType::U32 && info.dtype != io::DType::U16;
  if (plain) {
    auto t = torch::empty(info.shape, torch::TensorOptions().dtype(to_torch_dtype(info.dtype)));
    if (info.size_bytes) std::memcpy(t.data_ptr(), store.bytes(info), info.size_bytes);
    return t;
  }
  if (!io::is_real(info.dtype) && !info.quantization) {
    const auto values = store.read_i64(info);
    return torch::tensor(values, torch::kInt64).reshape(info.shape);
  }
  auto t = torch::empty(info.shape, torch::kFloat32);
  store.read_f32(info, 0, info.numel(), t.data_ptr<float>());
  return t;
}

}  // namespace

NamedTensors named_state(const torch::nn::Module& module, const std::string& prefix) {
  NamedTensors out;
  for (const auto& p : module.named_parameters()) out.emplace_back(prefix + p.key(), p.value().detach());
  for (const auto& b : module.named_buffers()) out.emplace_back(prefix + b.key(), b.value().detach());
  return out;
}

std::shared_ptr<const io::TensorStore> memory_store(const NamedTensors& tensors, const std::string& what) {
  std::vector<torch::Tensor> kept;
  std::vector<io::TensorInfo> infos;
  uint64_t size = 0;
  for (const auto& [name, t] : tensors) {
    const bool real = t.is_floating_point();
    kept.push_back(t.to(real ? torch::kFloat32 : torch::kInt64).contiguous().cpu());
    io::TensorInfo info;
    info.name = name;
    info.dtype = real ? io::DType::F32 : io::DType::I64;
    info.shape = t.sizes().vec();
    info.offset = size;
    info.size_bytes = kept.back().nbytes();
    size += (info.size_bytes + 7) / 8 * 8;  // every tensor 8-byte aligned
    infos.push_back(std::move(info));
  }
  std::vector<std::byte> bytes(size);
  for (std::size_t k = 0; k < kept.size(); ++k)
    if (infos[k].size_bytes) std::memcpy(bytes.data() + infos[k].offset, kept[k].data_ptr(), infos[k].size_bytes);
  auto store = std::make_shared<io::TensorStore>(io::Format::Safetensors, what + " (in memory)");
  store->add_blob(io::owned_blob(what + " (in memory)", std::move(bytes)));
  for (auto& info : infos) store->add_tensor(std::move(info));
  return store;
}

void write_tensors(const std::string& path, const NamedTensors& tensors,
                   const std::map<std::string, std::string>& metadata) {
  NamedTensors contiguous;
  std::vector<io::TensorToWrite> entries;
  contiguous.reserve(tensors.size());
  for (const auto& [name, t] : tensors) {
    contiguous.emplace_back(name, t.contiguous());
    const auto& c = contiguous.back().second;
    entries.push_back({name, to_io_dtype(c.scalar_type()), c.sizes().vec(), c.data_ptr(), c.nbytes()});
  }
  io::write_safetensors(path, entries, metadata);
}

torch::Tensor read_tensor(const io::TensorStore& store, const std::string& name,
                          const std::vector<int64_t>& expected_shape) {
  const io::TensorInfo* info = store.find(name);
  if (!info) throw FormatError(store.path(), "missing tensor '" + name + "'");
  if (info->shape != expected_shape)
    throw FormatError(store.path(), "tensor '" + name + "' has shape " + shape_string(info->shape) +
                                        ", expected " + shape_string(expected_shape));
  return copy_out(store, *info);
}

std::set<std::string> load_state(torch::nn::Module& module, const io::TensorStore& file,
                                 const LoadStateOptions& options) {
  std::set<std::string> used;
  torch::NoGradGuard no_grad;
  auto fill = [&](const std::string& key, torch::Tensor& dst) {
    const std::string name = options.prefix + key;
    used.insert(name);
    torch::Tensor value = read_tensor(file, name, dst.sizes().vec());
    const io::TensorInfo& info = *file.find(name);
    if (info.quantization) {
      // Stored as integer codes with scales; read_tensor dequantized them.
      if (!options.allow_int8 || !dst.is_floating_point())
        throw FormatError(file.path(), "tensor '" + name + "' is quantized (" + std::string(io::dtype_name(info.dtype)) +
                                           ") where " + std::string(io::dtype_name(to_io_dtype(dst.scalar_type()))) +
                                           " is expected");
      if (file.find(name + kInt8ScaleSuffix)) used.insert(name + kInt8ScaleSuffix);
      value = value.to(dst.scalar_type());
    } else if (options.allow_int8 && info.dtype == io::DType::I8 && dst.is_floating_point()) {
      throw FormatError(file.path(), "int8 tensor '" + name + "' lacks a float32 scalar '" + name + kInt8ScaleSuffix + "'");
    } else if (value.is_floating_point() && dst.is_floating_point()) {
      value = value.to(dst.scalar_type());  // F16, BF16, dequantized blocks: loaded at the parameter's precision
    } else if (value.scalar_type() != dst.scalar_type()) {
      throw FormatError(file.path(), "tensor '" + name + "' has dtype " + std::string(io::dtype_name(info.dtype)) +
                                         ", expected " + std::string(io::dtype_name(to_io_dtype(dst.scalar_type()))));
    }
    if (value.is_floating_point() && !torch::isfinite(value).all().item<bool>())
      throw FormatError(file.path(), "tensor '" + name + "' holds NaN or infinite values");
    dst.copy_(value);
  };
  for (auto& p : module.named_parameters()) fill(p.key(), p.value());
  for (auto& b : module.named_buffers()) fill(b.key(), b.value());
  return used;
}

void refuse_extra_tensors(const io::TensorStore& store, const std::set<std::string>& used, const std::string& what) {
  for (const auto& t : store.tensors())
    if (!used.count(t.name)) throw FormatError(store.path(), "unexpected tensor '" + t.name + "' for " + what);
}

}  // namespace modeldna::nn
