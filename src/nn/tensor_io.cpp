#include "modeldna/nn/tensor_io.h"

#include <cstring>

#include "modeldna/core/error.h"

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
  }
  return torch::kFloat32;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Copies a view out of the memory map into a tensor we own.
torch::Tensor copy_out(const io::TensorView& view) {
  auto t = torch::empty(view.shape, torch::TensorOptions().dtype(to_torch_dtype(view.dtype)));
  if (view.size_bytes) std::memcpy(t.data_ptr(), view.data, view.size_bytes);
  return t;
}

}  // namespace

NamedTensors named_state(const torch::nn::Module& module, const std::string& prefix) {
  NamedTensors out;
  for (const auto& p : module.named_parameters()) out.emplace_back(prefix + p.key(), p.value().detach());
  for (const auto& b : module.named_buffers()) out.emplace_back(prefix + b.key(), b.value().detach());
  return out;
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

torch::Tensor read_tensor(const io::SafetensorsFile& file, const std::string& name,
                          const std::vector<int64_t>& expected_shape) {
  const io::TensorView* view = file.find(name);
  if (!view) throw FormatError(file.path(), "missing tensor '" + name + "'");
  if (view->shape != expected_shape)
    throw FormatError(file.path(), "tensor '" + name + "' has shape " + shape_string(view->shape) +
                                       ", expected " + shape_string(expected_shape));
  return copy_out(*view);
}

std::set<std::string> load_state(torch::nn::Module& module, const io::SafetensorsFile& file,
                                 const LoadStateOptions& options) {
  std::set<std::string> used;
  torch::NoGradGuard no_grad;
  auto fill = [&](const std::string& key, torch::Tensor& dst) {
    const std::string name = options.prefix + key;
    used.insert(name);
    torch::Tensor value = read_tensor(file, name, dst.sizes().vec());
    if (options.allow_int8 && value.scalar_type() == torch::kInt8 && dst.is_floating_point()) {
      const io::TensorView* scale = file.find(name + kInt8ScaleSuffix);
      if (!scale || scale->dtype != io::DType::F32 || scale->numel() != 1)
        throw FormatError(file.path(), "int8 tensor '" + name + "' lacks a float32 scalar '" + name + kInt8ScaleSuffix + "'");
      used.insert(name + kInt8ScaleSuffix);
      value = value.to(torch::kFloat32) * copy_out(*scale).reshape({});
    } else if (value.scalar_type() != dst.scalar_type()) {
      throw FormatError(file.path(), "tensor '" + name + "' has dtype " +
                                         std::string(io::dtype_name(to_io_dtype(value.scalar_type()))) +
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

void refuse_extra_tensors(const io::SafetensorsFile& file, const std::set<std::string>& used,
                          const std::string& what) {
  for (const auto& view : file.tensors())
    if (!used.count(view.name)) throw FormatError(file.path(), "unexpected tensor '" + view.name + "' for " + what);
}

}  // namespace modeldna::nn
