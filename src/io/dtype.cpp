#include "modeldna/io/dtype.h"

#include <iterator>
#include <string>

#include "modeldna/core/error.h"

namespace modeldna::io {
namespace {

using K = DTypeKind;

// Indexed by the enum's value; the order must follow the declaration. Block
// sizes are ggml's (ggml-common.h): e.g. Q4_K = fp16 d, fp16 dmin, 12 bytes of
// 6-bit scales and mins, 128 bytes of 4-bit quants for 256 values.
constexpr DTypeTraits kTraits[] = {
    {DType::F64, "F64", K::Float, 1, 8},        {DType::F32, "F32", K::Float, 1, 4},
    {DType::F16, "F16", K::Float, 1, 2},        {DType::BF16, "BF16", K::Float, 1, 2},
    {DType::F8_E4M3, "F8_E4M3", K::Float, 1, 1}, {DType::F8_E5M2, "F8_E5M2", K::Float, 1, 1},
    {DType::I64, "I64", K::Integer, 1, 8},      {DType::I32, "I32", K::Integer, 1, 4},
    {DType::I16, "I16", K::Integer, 1, 2},      {DType::I8, "I8", K::Integer, 1, 1},
    {DType::U64, "U64", K::Integer, 1, 8},      {DType::U32, "U32", K::Integer, 1, 4},
    {DType::U16, "U16", K::Integer, 1, 2},      {DType::U8, "U8", K::Integer, 1, 1},
    {DType::BOOL, "BOOL", K::Bool, 1, 1},
    {DType::Q4_0, "Q4_0", K::Block, 32, 18},    {DType::Q4_1, "Q4_1", K::Block, 32, 20},
    {DType::Q5_0, "Q5_0", K::Block, 32, 22},    {DType::Q5_1, "Q5_1", K::Block, 32, 24},
    {DType::Q8_0, "Q8_0", K::Block, 32, 34},    {DType::Q2_K, "Q2_K", K::Block, 256, 84},
    {DType::Q3_K, "Q3_K", K::Block, 256, 110},  {DType::Q4_K, "Q4_K", K::Block, 256, 144},
    {DType::Q5_K, "Q5_K", K::Block, 256, 176},  {DType::Q6_K, "Q6_K", K::Block, 256, 210},
    {DType::Q8_K, "Q8_K", K::Block, 256, 292},
};

constexpr bool traits_in_enum_order() {
  for (std::size_t i = 0; i < std::size(kTraits); ++i)
    if (static_cast<std::size_t>(kTraits[i].dtype) != i) return false;
  return true;
}
static_assert(traits_in_enum_order(), "kTraits must follow the order of enum DType");

}  // namespace

const DTypeTraits& traits(DType dtype) {
  const auto index = static_cast<std::size_t>(dtype);
  if (index >= std::size(kTraits)) throw InternalError("invalid DType value " + std::to_string(index));
  return kTraits[index];
}

std::optional<DType> parse_dtype(std::string_view name) {
  for (const DTypeTraits& t : kTraits)
    if (t.name == name) return t.dtype;
  return std::nullopt;
}

std::size_t dtype_size(DType dtype) {
  const auto& t = traits(dtype);
  if (t.block_elems != 1) throw InternalError("dtype_size: " + std::string(t.name) + " is a block type");
  return t.block_bytes;
}

std::optional<uint64_t> bytes_for(DType dtype, uint64_t numel) {
  const auto& t = traits(dtype);
  if (numel % t.block_elems != 0) return std::nullopt;
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(numel / t.block_elems, uint64_t{t.block_bytes}, &bytes)) return std::nullopt;
  return bytes;
}

}  // namespace modeldna::io
