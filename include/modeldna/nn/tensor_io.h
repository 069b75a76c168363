// File: modeldna/nn/tensor_io.h
// Module state <-> safetensors, shared by model files and detector files.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "modeldna/io/safetensors.h"
#include "modeldna/io/tensor_store.h"

namespace modeldna::nn {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

using io::kInt8ScaleSuffix;  // an int8 tensor "<name>" is stored with its float32 scale as "<name>.qscale"

/// Every parameter and buffer of `module`, names prefixed with `prefix`.
NamedTensors named_state(const torch::nn::Module& module, const std::string& prefix = "");

/// The tensors as a store held in memory (float tensors as float32, integer
/// ones as int64), for evidence that reads stores from networks that never
/// were files. `what` names it in messages.
std::shared_ptr<const io::TensorStore> memory_store(const NamedTensors& tensors, const std::string& what);

/// Writes contiguous CPU tensors (float32/64, int64/32/8, uint8) atomically.
void write_tensors(const std::string& path, const NamedTensors& tensors,
                   const std::map<std::string, std::string>& metadata);

struct LoadStateOptions {
  std::string prefix;       // names in the file are prefix + module name
  bool allow_int8 = false;  // accept int8 "<name>" + float32 scalar "<name>.qscale" for float tensors
};

/// Copies the store's tensors into every parameter and buffer of `module`,
/// checking shape, dtype and finiteness; throws FormatError naming the file.
/// Real tensors stored at another precision or quantized (F16, GGUF blocks,
/// affine codes) load dequantized into float parameters. Returns the names it
/// used, so callers can refuse unexpected extras.
std::set<std::string> load_state(torch::nn::Module& module, const io::TensorStore& store,
                                 const LoadStateOptions& options = {});

/// One tensor by name as stored (a float tensor for quantized storage), with
/// its expected shape checked; FormatError otherwise.
torch::Tensor read_tensor(const io::TensorStore& store, const std::string& name,
                          const std::vector<int64_t>& expected_shape);

/// FormatError if the store holds a tensor not in `used`.
void refuse_extra_tensors(const io::TensorStore& store, const std::set<std::string>& used, const std::string& what);

}  // namespace modeldna::nn
