// File: modeldna/io/tensor_store.h
// A model file as data: named tensors with their dtype, logical shape, the
// bytes they live in (memory-mapped, read lazily), quantization parameters,
// the file's metadata and, for graph formats, the graph that says what each
// tensor is for. Every reader (open_store.h) produces one; nothing here runs a
// model or needs torch. Running a model is nn's business (nn/model_file.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modeldna/io/dtype.h"

namespace modeldna::io {

enum class Format : uint8_t { Safetensors, PyTorch, GGUF, ONNX, TFLite, TFJS, Keras };
std::string_view format_name(Format format);  // "safetensors", "pytorch", "gguf", ...
/// The Format a format_name() names; nullopt for any other text.
std::optional<Format> parse_format(std::string_view name);

/// What the axes of a weight mean. Shapes are as stored; matching undoes the
/// layout with canonical_axes(). O = output units, I = input units, H/W =
/// kernel rows/columns, M = depthwise multiplier, C = channels.
enum class Layout : uint8_t {
  Unknown,  // no claim: a vector, an embedding table, anything without a graph
  OI,       // [out, in]: PyTorch Linear, ONNX Gemm with transB, TFLite FULLY_CONNECTED, GGUF matrices
  IO,       // [in, out]: Keras / TensorFlow.js Dense, ONNX MatMul and Gemm without transB
  OIHW,     // PyTorch / ONNX convolution
  OHWI,     // TFLite CONV_2D
  HWIO,     // Keras / TensorFlow.js Conv2D
  IHWO,     // TFLite DEPTHWISE_CONV_2D: [1, H, W, C*M]
  HWCM,     // Keras / TensorFlow.js DepthwiseConv2D: [H, W, C, M]
  // Transposed convolutions, whose canonical form is [out, in, H, W] with
  // "out" the transposed convolution's own output channels (TFLite's
  // TRANSPOSE_CONV stores it that way already, as OHWI):
  HWOI,     // TensorFlow / TF.js Conv2DBackpropInput: [H, W, out, in]
  IOHW,     // ONNX ConvTranspose (one group): [in, out, H, W]
};
std::string_view layout_name(Layout layout);
/// The permutation taking a tensor of this layout to the canonical one (OI or
/// OIHW; depthwise kernels to [C*M, 1, H, W]): canonical axis k is stored axis
/// result[k]. Empty for Unknown or a rank the layout does not fit.
std::vector<int> canonical_axes(Layout layout, std::size_t rank);

/// What a tensor is for, from the graph (which op input it feeds) or the name.
/// Evidence weighs learned weights and leaves constants out.
enum class Role : uint8_t {
  Unknown,
  Weight,       // a matrix or kernel a layer learns (conv, dense, attention)
  Bias,
  NormScale,    // BatchNorm / LayerNorm gamma
  NormShift,    // BatchNorm / LayerNorm beta
  RunningStat,  // BatchNorm running mean / variance / count
  Embedding,    // a lookup table (Gather data input)
  QuantParam,   // a scale or zero point of another tensor
  Constant,     // a shape, index, axis or other non-learned input
  Optimizer,    // optimizer state saved beside the weights (exp_avg, momentum)
};
std::string_view role_name(Role role);
inline bool is_learned(Role role) {
  return role == Role::Unknown || role == Role::Weight || role == Role::Bias || role == Role::NormScale ||
         role == Role::NormShift || role == Role::Embedding;
}

/// Integer codes q standing for real values (q - zero_point) * scale + offset,
/// per tensor (one entry) or per slice along `axis`.
struct AffineQuantization {
  std::vector<double> scale;
  std::vector<double> zero_point;  // same length as scale
  std::vector<double> offset;      // empty, or same length (TensorFlow.js min)
  int64_t axis = -1;               // -1: per tensor
};

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;     // as stored
  std::vector<int64_t> shape;   // logical, outermost dimension first (GGUF dims already reversed)
  Layout layout = Layout::Unknown;
  Role role = Role::Unknown;
  uint32_t blob = 0;            // which of the store's blobs holds the bytes
  uint64_t offset = 0;          // byte offset of element 0 in that blob
  uint64_t size_bytes = 0;      // bytes the tensor spans from `offset`
  std::vector<int64_t> strides; // in elements; empty = contiguous row-major
  std::optional<AffineQuantization> quantization;
  std::string note;             // how the reader got it ("dequantized from ...", "densified ...")

  int64_t numel() const;
  bool contiguous() const;
};

/// One operator of a graph format, in execution order.
struct GraphNode {
  std::string op;                    // ONNX op_type, TFLite builtin name, Keras class name
  std::string name;
  std::vector<std::string> inputs;   // tensor names ("" for an absent optional input)
  std::vector<std::string> outputs;
  std::map<std::string, int64_t> int_attributes;  // the few attributes layouts depend on (transB, group)
  int depth = 0;                     // 0: main graph; >0: inside a sub-graph (If / Loop / Scan bodies)
};

/// Bytes a store's tensors point into: a memory-mapped file, or a buffer the
/// reader decoded (an inflated zip entry, varint-packed integers).
class Blob {
 public:
  virtual ~Blob() = default;
  virtual const std::byte* data() const = 0;
  virtual uint64_t size() const = 0;
  /// The file it comes from, for messages.
  virtual const std::string& path() const = 0;
  /// A hint that [offset, offset + size) will not be read again soon: a
  /// mapped file gives those pages back (they stay in the page cache), so
  /// streaming a file larger than memory keeps the process small.
  virtual void release(uint64_t offset, uint64_t size) const {
    (void)offset;
    (void)size;
  }
};

/// Opens `path` read-only and maps it whole; FormatError naming the file.
std::shared_ptr<const Blob> map_file(const std::string& path);
/// The SHA-256 of a whole file (64 hex digits), hashed through the mapping
/// in slices given back as it goes, so a file larger than memory costs little.
std::string file_sha256(const std::string& path);
/// A blob that owns `bytes`.
std::shared_ptr<const Blob> owned_blob(std::string path, std::vector<std::byte> bytes);

class TensorStore {
 public:
  TensorStore(Format format, std::string path);

  Format format() const { return format_; }
  /// The file the user named (a folder for multi-file models).
  const std::string& path() const { return path_; }
  /// Every file read: shards, external data, the manifest itself.
  const std::vector<std::string>& files() const { return files_; }
  /// The file's own metadata as JSON (GGUF key/values, safetensors
  /// __metadata__, ONNX producer and opsets, Keras config, ...).
  const nlohmann::json& metadata() const { return metadata_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find(std::string_view name) const;
  /// Operators in order, for graph formats; empty otherwise.
  const std::vector<GraphNode>& graph() const { return graph_; }

  /// The bytes a tensor spans (validated when the store was built).
  const std::byte* bytes(const TensorInfo& tensor) const;
  /// Float32 values of elements [begin, begin + count) in logical row-major
  /// order: floats converted, blocks dequantized, affine codes mapped to
  /// reals, integers converted as is, strides followed. Streams: only
  /// the requested slice is touched.
  void read_f32(const TensorInfo& tensor, int64_t begin, int64_t count, float* out) const;
  /// The whole tensor (mind its size: read_f32 slices for large ones).
  std::vector<float> read_f32(const TensorInfo& tensor) const;
  /// The integer values of an integer or bool tensor (shapes, indices).
  std::vector<int64_t> read_i64(const TensorInfo& tensor) const;
  /// Done reading `tensor` for now: its pages may leave memory (Blob::release).
  void release(const TensorInfo& tensor) const;

  // Building a store (readers only). add_tensor checks the tensor against its
  // blob: numel x dtype fits size_bytes, strides stay inside, FormatError else.
  uint32_t add_blob(std::shared_ptr<const Blob> blob);
  void add_file(std::string path);
  void add_tensor(TensorInfo tensor);
  void add_node(GraphNode node) { graph_.push_back(std::move(node)); }
  /// Attaches quantization found after the tensor was added (a graph op
  /// names its scales); checked like add_tensor's, FormatError otherwise.
  void set_quantization(const std::string& name, AffineQuantization quantization);
  nlohmann::json& mutable_metadata() { return metadata_; }
  TensorInfo* mutable_find(std::string_view name);

 private:
  void check_quantization(const TensorInfo& tensor) const;
  Format format_;
  std::string path_;
  std::vector<std::string> files_;
  nlohmann::json metadata_ = nlohmann::json::object();
  std::vector<std::shared_ptr<const Blob>> blobs_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, std::size_t, std::less<>> index_;
  std::vector<GraphNode> graph_;
};

/// Statistics of one tensor's values, streamed through a bounded buffer.
struct TensorStats {
  double mean = 0, stddev = 0, min = 0, max = 0;
  double kurtosis = 0;  // E[(x - mean)^4] / stddev^4 (3 for a Gaussian; 0 when constant)
  int64_t zeros = 0, non_finite = 0;
};
/// Reads every value of `tensor` (dequantized) in slices of at most
/// `chunk` elements: memory stays bounded whatever the tensor's size.
TensorStats tensor_stats(const TensorStore& store, const TensorInfo& tensor, int64_t chunk = 1 << 20);

/// Summary counts of a store, as `inspect` prints them.
struct StoreSummary {
  int64_t tensors = 0;
  int64_t parameters = 0;     // elements of every tensor with a learned role
  uint64_t bytes = 0;         // stored bytes of every tensor
  std::map<std::string, int64_t> dtypes;  // dtype name -> tensor count
};
StoreSummary summarize(const TensorStore& store);

}  // namespace modeldna::io
