// Private to io: a restricted unpickler for PyTorch checkpoints. It is a data
// parser, not a Python VM: it executes nothing. It accepts what
// torch.load(weights_only=True) accepts (the tensor-rebuild functions,
// storage types, dtypes, OrderedDict, torch.Size, plain containers and
// scalars) and refuses any other global by name before anything could call it.
// Objects live in an arena addressed by index, so cycles and deep nesting
// cost no recursion and leak nothing; every count is bounded.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "modeldna/io/dtype.h"

namespace modeldna::io::detail {

inline constexpr uint64_t kMaxPickleBytes = 256ull << 20;  // data.pkl itself
inline constexpr uint64_t kMaxPickleValues = 8'000'000;
inline constexpr uint64_t kMaxPickleStack = 1'000'000;
inline constexpr uint64_t kMaxPickleMemo = 8'000'000;

struct PickleValue {
  enum class Kind : uint8_t {
    None, Bool, Int, Float, String, Bytes, List, Tuple, Dict, Set,
    Global,   // an allowed global that is not called here: a dtype, torch.Tensor, a storage type
    Storage,  // a persistent id: ('storage', type, key, location, numel)
    Tensor,
  };
  Kind kind = Kind::None;
  int64_t integer = 0;           // Int, Bool
  double real = 0;               // Float
  std::string text;              // String, Bytes, Global ("module.name"), Storage key
  std::vector<uint32_t> items;   // List, Tuple, Set; Dict: key, value, key, value...
  // Storage: element type and count (bytes for an untyped storage).
  DType dtype = DType::U8;
  int64_t numel = 0;
  // Tensor: which Storage value, where in it, and the view.
  uint32_t storage = 0;
  int64_t storage_offset = 0;
  std::vector<int64_t> size, stride;
};

struct Unpickled {
  std::vector<PickleValue> values;
  uint32_t root = 0;
};

/// Runs the pickle program in `bytes` (`path` names it in errors, with the
/// byte offset of the refused opcode). FormatError for anything malformed,
/// over a limit, or asking for a global outside the allowlist:
/// "<path>: pickle asks for os.system; refusing to execute code from a model file".
Unpickled unpickle(const std::string& path, const std::byte* bytes, uint64_t size);

}  // namespace modeldna::io::detail
