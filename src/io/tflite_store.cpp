// TensorFlow Lite (flatbuffers, file identifier "TFL3"; docs/formats/tflite.md).
// The flatbuffers verifier generated from tflite_subset.fbs bounds every
// offset, vector and nesting level before anything is read. Constant tensors
// are those with a non-empty buffer; their quantization (per tensor or per
// channel), float16 weights behind DEQUANTIZE, and sparse tensors (densified
// to their dense shape) are handled; the operators are kept as the graph.
#include <flatbuffers/flatbuffers.h>

#include <algorithm>
#include <cstring>

#include "byte_reader.h"
#include "readers.h"
#include "tflite_subset_generated.h"

namespace modeldna::io::detail {
namespace {

namespace fb = tflite_subset;
using flatbuffers::uoffset_t;

constexpr uoffset_t kMaxFlatbufferTables = 10'000'000;

std::optional<DType> tflite_dtype(int8_t type) {
  switch (type) {
    case 0: return DType::F32;
    case 1: return DType::F16;
    case 2: return DType::I32;
    case 3: return DType::U8;
    case 4: return DType::I64;
    case 6: return DType::BOOL;
    case 7: return DType::I16;
    case 9: return DType::I8;
    case 10: return DType::F64;
    case 12: return DType::U64;
    case 15: return DType::U32;
    case 16: return DType::U16;
    case 17: return DType::I8;  // INT4, unpacked to one value per byte
    default: return std::nullopt;
  }
}

std::string tflite_type_text(int8_t type) {
  static const char* names[] = {"FLOAT32", "FLOAT16", "INT32",   "UINT8",   "INT64", "STRING",  "BOOL",   "INT16", "COMPLEX64",
                                "INT8",    "FLOAT64", "COMPLEX128", "UINT64", "RESOURCE", "VARIANT", "UINT32", "UINT16", "INT4"};
  return type >= 0 && type < static_cast<int8_t>(std::size(names)) ? names[type] : "type " + std::to_string(type);
}

// Names of the builtin operators the tagging looks at (and a few common
// ones, for people reading the graph); others print as BUILTIN_<code>.
std::string builtin_name(int code) {
  static const std::map<int, const char*> names = {
      {0, "ADD"}, {1, "AVERAGE_POOL_2D"}, {2, "CONCATENATION"}, {3, "CONV_2D"}, {4, "DEPTHWISE_CONV_2D"},
      {6, "DEQUANTIZE"}, {7, "EMBEDDING_LOOKUP"}, {9, "FULLY_CONNECTED"}, {14, "LOGISTIC"}, {16, "LSTM"},
      {17, "MAX_POOL_2D"}, {18, "MUL"}, {19, "RELU"}, {21, "RELU6"}, {22, "RESHAPE"}, {23, "RESIZE_BILINEAR"},
      {25, "SOFTMAX"}, {28, "TANH"}, {34, "PAD"}, {36, "GATHER"}, {39, "TRANSPOSE"}, {40, "MEAN"}, {41, "SUB"},
      {42, "DIV"}, {43, "SQUEEZE"}, {44, "UNIDIRECTIONAL_SEQUENCE_LSTM"}, {45, "STRIDED_SLICE"}, {49, "SPLIT"},
      {54, "PRELU"}, {60, "PADV2"}, {65, "SLICE"}, {67, "TRANSPOSE_CONV"}, {69, "TILE"}, {70, "EXPAND_DIMS"},
      {74, "SUM"}, {83, "PACK"}, {97, "RESIZE_NEAREST_NEIGHBOR"}, {102, "SPLIT_V"}, {114, "QUANTIZE"},
      {117, "HARD_SWISH"}, {124, "DENSIFY"}, {126, "BATCH_MATMUL"}, {132, "CONV_3D"}, {150, "GELU"}};
  const auto it = names.find(code);
  return it != names.end() ? it->second : "BUILTIN_" + std::to_string(code);
}

std::optional<InputRole> role_of(const std::string& op, std::size_t input) {
  if (op == "CONV_2D" || op == "CONV_3D") {
    if (input == 1) return InputRole{Role::Weight, op == "CONV_2D" ? Layout::OHWI : Layout::Unknown};
    if (input == 2) return InputRole{Role::Bias, Layout::Unknown};
  }
  if (op == "DEPTHWISE_CONV_2D") {
    if (input == 1) return InputRole{Role::Weight, Layout::IHWO};
    if (input == 2) return InputRole{Role::Bias, Layout::Unknown};
  }
  if (op == "FULLY_CONNECTED") {
    if (input == 1) return InputRole{Role::Weight, Layout::OI};
    if (input == 2) return InputRole{Role::Bias, Layout::Unknown};
  }
  // MediaPipe's custom transposed convolution (with its bias fused in), as
  // in the selfie segmentation models: weights OHWI like TRANSPOSE_CONV.
  if (op == "CUSTOM:Convolution2DTransposeBias") {
    if (input == 1) return InputRole{Role::Weight, Layout::OHWI};
    if (input == 2) return InputRole{Role::Bias, Layout::Unknown};
  }
  if (op == "TRANSPOSE_CONV") {
    if (input == 0) return InputRole{Role::Constant, Layout::Unknown};  // output shape
    if (input == 1) return InputRole{Role::Weight, Layout::OHWI};
    if (input == 3) return InputRole{Role::Bias, Layout::Unknown};
  }
  if (op == "BATCH_MATMUL" && input == 1) return InputRole{Role::Weight, Layout::Unknown};
  if (op == "EMBEDDING_LOOKUP") return InputRole{input == 1 ? Role::Embedding : Role::Constant, Layout::Unknown};
  if (op == "GATHER") return InputRole{input == 0 ? Role::Embedding : Role::Constant, Layout::Unknown};
  if (op == "PRELU" && input == 1) return InputRole{Role::Weight, Layout::Unknown};
  if ((op == "LSTM" || op == "UNIDIRECTIONAL_SEQUENCE_LSTM") && input >= 1) {
    if (input <= 8) return InputRole{Role::Weight, Layout::OI};
    if (input >= 12 && input <= 15) return InputRole{Role::Bias, Layout::Unknown};
  }
  static const std::map<std::string, std::vector<std::size_t>> kConstantInputs = {
      {"RESHAPE", {1}}, {"PAD", {1}}, {"PADV2", {1, 2}}, {"MEAN", {1}}, {"SUM", {1}}, {"TRANSPOSE", {1}},
      {"STRIDED_SLICE", {1, 2, 3}}, {"SLICE", {1, 2}}, {"RESIZE_BILINEAR", {1}}, {"RESIZE_NEAREST_NEIGHBOR", {1}},
      {"TILE", {1}}, {"EXPAND_DIMS", {1}}, {"SPLIT", {0}}, {"SPLIT_V", {1, 2}}, {"SQUEEZE", {1}}};
  const auto it = kConstantInputs.find(op);
  if (it != kConstantInputs.end() && std::count(it->second.begin(), it->second.end(), input))
    return InputRole{Role::Constant, Layout::Unknown};
  return std::nullopt;
}

// The index vector of a sparse dimension, whichever integer width it has.
std::vector<int64_t> index_vector(const std::string& path, fb::SparseIndexVector type, const void* value) {
  std::vector<int64_t> out;
  auto copy = [&](const auto* v) {
    if (!v || !v->values()) throw FormatError(path, "sparse tensor index vector is empty");
    for (auto x : *v->values()) out.push_back(static_cast<int64_t>(x));
  };
  switch (type) {
    case fb::SparseIndexVector_Int32Vector: copy(static_cast<const fb::Int32Vector*>(value)); break;
    case fb::SparseIndexVector_Uint16Vector: copy(static_cast<const fb::Uint16Vector*>(value)); break;
    case fb::SparseIndexVector_Uint8Vector: copy(static_cast<const fb::Uint8Vector*>(value)); break;
    default: throw FormatError(path, "sparse tensor without index vectors");
  }
  return out;
}

// Expands a sparse tensor (TACO-style: a traversal order over the dense
// dimensions and optional block dimensions, each dense or CSR) into its dense
// row-major bytes. Every index is checked against its dimension.
std::vector<std::byte> densify(const std::string& path, const std::string& name, const fb::SparsityParameters& sp,
                               const std::vector<int64_t>& shape, std::size_t element, const std::byte* values,
                               uint64_t value_bytes) {
  auto fail = [&](const std::string& problem) -> void {
    throw FormatError(path, "sparse tensor " + quote(name) + ": " + problem);
  };
  const std::size_t n = shape.size();
  if (!sp.traversal_order() || !sp.dim_metadata()) fail("no traversal order or dimension metadata");
  const std::size_t levels = sp.traversal_order()->size();
  const std::size_t k = sp.block_map() ? sp.block_map()->size() : 0;
  if (levels != n + k || sp.dim_metadata()->size() != levels || levels > 16) fail("inconsistent dimension counts");
  std::vector<int> order(sp.traversal_order()->begin(), sp.traversal_order()->end());
  std::vector<int> seen(levels, 0);
  for (int d : order) {
    if (d < 0 || static_cast<std::size_t>(d) >= levels || seen[static_cast<std::size_t>(d)]++) fail("traversal order is not a permutation");
  }
  std::vector<int> block_map;
  if (k) block_map.assign(sp.block_map()->begin(), sp.block_map()->end());
  std::vector<int> blocked(n, 0);
  for (int b : block_map)
    if (b < 0 || static_cast<std::size_t>(b) >= n || blocked[static_cast<std::size_t>(b)]++)
      fail("block map names a dimension the tensor lacks, or one twice");
  struct Level {
    bool dense = true;
    int64_t size = 0;
    std::vector<int64_t> segments, indices;
  };
  std::vector<Level> meta(levels);
  std::vector<int64_t> level_of_dim(levels, -1);
  for (std::size_t i = 0; i < levels; ++i) {
    const auto* m = sp.dim_metadata()->Get(static_cast<uoffset_t>(i));
    if (!m) fail("missing dimension metadata");
    meta[i].dense = m->format() == 0;
    meta[i].size = m->dense_size();
    if (!meta[i].dense) {
      meta[i].segments = index_vector(path, m->array_segments_type(), m->array_segments());
      meta[i].indices = index_vector(path, m->array_indices_type(), m->array_indices());
    }
    level_of_dim[static_cast<std::size_t>(order[i])] = static_cast<int64_t>(i);
  }
  // The extent of each traversal dimension: a blocked dense dimension counts
  // blocks, a block dimension its block's size.
  std::vector<int64_t> block_size(k, 1), extent(levels, 0);
  for (std::size_t j = 0; j < k; ++j) {
    const auto& level = meta[static_cast<std::size_t>(level_of_dim[n + j])];
    if (!level.dense || level.size <= 0) fail("block dimensions must be dense");
    block_size[j] = level.size;
  }
  for (std::size_t d = 0; d < n; ++d) {
    extent[d] = shape[d];
    for (std::size_t j = 0; j < k; ++j)
      if (block_map[j] == static_cast<int>(d)) {
        if (shape[d] % block_size[j]) fail("block size does not divide its dimension");
        extent[d] = shape[d] / block_size[j];
      }
  }
  for (std::size_t j = 0; j < k; ++j) extent[n + j] = block_size[j];
  for (std::size_t i = 0; i < levels; ++i)
    if (meta[i].dense && (meta[i].size <= 0 || meta[i].size > extent[static_cast<std::size_t>(order[i])]))
      fail("dense dimension size out of range");

  // The dense tensor is built in memory: at most 2 GiB, and at most 64 times
  // the stored values (real sparse weights are a few times denser).
  const auto numel = checked_numel(shape);
  uint64_t dense_bytes = 0;
  if (!numel || __builtin_mul_overflow(*numel, uint64_t{element}, &dense_bytes) || dense_bytes > (uint64_t{1} << 31) ||
      dense_bytes > 64 * value_bytes + 4096)
    fail("dense shape too large for its " + std::to_string(value_bytes) + " stored bytes");
  std::vector<std::byte> dense(static_cast<std::size_t>(dense_bytes), std::byte{0});
  const uint64_t stored = value_bytes / element;
  uint64_t next_value = 0;
  std::vector<int64_t> index(levels, 0);
  // Iterative depth-first walk: one frame per level.
  struct Frame {
    int64_t position = 0, cursor = 0, end = 0;
  };
  std::vector<Frame> stack(levels + 1);
  auto enter = [&](std::size_t level, int64_t position) {
    Frame& f = stack[level];
    f.position = position;
    if (meta[level].dense) {
      f.cursor = 0;
      f.end = meta[level].size;
    } else {
      const auto& seg = meta[level].segments;
      if (position < 0 || static_cast<std::size_t>(position) + 1 >= seg.size()) fail("segment index out of range");
      f.cursor = seg[static_cast<std::size_t>(position)];
      f.end = seg[static_cast<std::size_t>(position) + 1];
      if (f.cursor < 0 || f.end < f.cursor || static_cast<std::size_t>(f.end) > meta[level].indices.size())
        fail("segments out of order or past the indices");
    }
  };
  enter(0, 0);
  std::size_t level = 0;
  while (true) {
    Frame& f = stack[level];
    if (f.cursor >= f.end) {
      if (level == 0) break;
      --level;
      ++stack[level].cursor;
      continue;
    }
    const auto dim = static_cast<std::size_t>(order[level]);
    const int64_t coordinate = meta[level].dense ? f.cursor : meta[level].indices[static_cast<std::size_t>(f.cursor)];
    if (coordinate < 0 || coordinate >= extent[dim]) fail("index out of range");
    index[dim] = coordinate;
    const int64_t child_position = meta[level].dense ? f.position * meta[level].size + f.cursor : f.cursor;
    if (level + 1 < levels) {
      ++level;
      enter(level, child_position);
      continue;
    }
    // A stored value: its dense coordinates.
    if (next_value >= stored) fail("more non-zero positions than stored values");
    int64_t offset = 0;
    for (std::size_t d = 0; d < n; ++d) {
      int64_t c = index[d];
      for (std::size_t j = 0; j < k; ++j)
        if (block_map[j] == static_cast<int>(d)) c = c * block_size[j] + index[n + j];
      if (c < 0 || c >= shape[d]) fail("position outside the dense shape");
      offset = offset * shape[d] + c;
    }
    std::memcpy(dense.data() + static_cast<std::size_t>(offset) * element, values + next_value * element, element);
    ++next_value;
    ++f.cursor;
  }
  if (next_value != stored) fail(std::to_string(stored) + " stored values but " + std::to_string(next_value) + " positions");
  return dense;
}

}  // namespace

TensorStore read_tflite(std::shared_ptr<const Blob> file) {
  const std::string& path = file->path();
  // Flatbuffers' accessors expect aligned data; a model embedded at an odd
  // offset is copied once.
  std::shared_ptr<const Blob> bytes = file;
  if (reinterpret_cast<uintptr_t>(file->data()) % 16 != 0) {
    std::vector<std::byte> copy(file->data(), file->data() + file->size());
    bytes = owned_blob(path, std::move(copy));
  }
  const uint64_t size = bytes->size();
  const auto* base = reinterpret_cast<const uint8_t*>(bytes->data());
  const uint64_t flat_size = std::min<uint64_t>(size, FLATBUFFERS_MAX_BUFFER_SIZE - 1);
  flatbuffers::Verifier verifier(base, static_cast<std::size_t>(flat_size), 64, kMaxFlatbufferTables);
  if (!fb::VerifyModelBuffer(verifier))
    throw FormatError(path, "not a valid TFLite flatbuffer (the verifier found an offset, size or nesting out of bounds)");
  const fb::Model* model = fb::GetModel(base);

  TensorStore store(Format::TFLite, path);
  store.add_file(path);
  const uint32_t blob = store.add_blob(bytes);
  auto& meta = store.mutable_metadata();
  meta["tflite.schema_version"] = model->version();
  if (model->description()) meta["tflite.description"] = sanitize_utf8(model->description()->string_view());
  const auto* buffers = model->buffers();
  if (model->metadata()) {
    nlohmann::json entries = nlohmann::json::array();
    for (const auto* m : *model->metadata())
      if (m && m->name()) entries.push_back(sanitize_utf8(m->name()->string_view()));
    meta["tflite.metadata"] = entries;
  }

  std::vector<std::string> ops;
  if (model->operator_codes())
    for (const auto* code : *model->operator_codes()) {
      if (!code) {
        ops.push_back("?");
        continue;
      }
      const int builtin = std::max<int>(code->builtin_code(), code->deprecated_builtin_code());
      ops.push_back(builtin == 32 && code->custom_code() ? "CUSTOM:" + sanitize_utf8(code->custom_code()->string_view())
                                                          : builtin_name(builtin));
    }

  if (!model->subgraphs() || model->subgraphs()->size() == 0) throw FormatError(path, "TFLite model without subgraphs");
  std::vector<std::string> skipped;
  for (uoffset_t s = 0; s < model->subgraphs()->size(); ++s) {
    const fb::SubGraph* graph = model->subgraphs()->Get(s);
    if (!graph || !graph->tensors()) continue;
    const std::string prefix = s == 0 ? "" : "subgraph" + std::to_string(s) + "/";
    std::vector<std::string> names(graph->tensors()->size());
    for (uoffset_t i = 0; i < graph->tensors()->size(); ++i) {
      const fb::Tensor* t = graph->tensors()->Get(i);
      std::string name = t && t->name() ? sanitize_utf8(t->name()->string_view()) : "";
      if (name.empty()) name = "tensor_" + std::to_string(i);
      name = prefix + name;
      while (std::count(names.begin(), names.begin() + i, name)) name += "#" + std::to_string(i);
      names[i] = name;
      if (!t || t->buffer() == 0) continue;
      if (!buffers || t->buffer() >= buffers->size())
        throw FormatError(path, "tensor " + quote(name) + " names buffer " + std::to_string(t->buffer()) + " of " +
                                    std::to_string(buffers ? buffers->size() : 0));
      const fb::Buffer* buffer = buffers->Get(t->buffer());
      if (!buffer) continue;
      const std::byte* data = nullptr;
      uint64_t data_size = 0;
      uint64_t data_offset = 0;
      if (buffer->offset() > 1) {  // stored after the flatbuffer (models over 2 GB)
        uint64_t end = 0;
        if (__builtin_add_overflow(buffer->offset(), buffer->size(), &end) || end > size)
          throw FormatError(path, "tensor " + quote(name) + ": buffer [" + std::to_string(buffer->offset()) + ", +" +
                                      std::to_string(buffer->size()) + ") exceeds the file");
        data_offset = buffer->offset();
        data_size = buffer->size();
      } else if (buffer->data() && buffer->data()->size() > 0) {
        data = reinterpret_cast<const std::byte*>(buffer->data()->data());
        data_size = buffer->data()->size();
        data_offset = static_cast<uint64_t>(data - bytes->data());
      } else {
        continue;  // an activation: no stored values
      }
      const auto dtype = tflite_dtype(t->type());
      if (!dtype) {
        skipped.push_back(name + " (" + tflite_type_text(t->type()) + ")");
        continue;
      }
      TensorInfo info;
      info.name = name;
      info.dtype = *dtype;
      if (t->shape())
        for (int32_t d : *t->shape()) {
          if (d < 0) throw FormatError(path, "tensor " + quote(name) + " has unknown dimension " + std::to_string(d));
          info.shape.push_back(d);
        }
      if (info.shape.size() > 16) throw FormatError(path, "tensor " + quote(name) + " has too many dimensions");
      const auto numel = checked_numel(info.shape);
      if (!numel) throw FormatError(path, "tensor " + quote(name) + " shape overflows");
      const std::byte* values = bytes->data() + data_offset;
      if (t->type() == 17) {  // INT4: two values a byte, low nibble first
        if (data_size * 2 < *numel) throw FormatError(path, "tensor " + quote(name) + ": int4 buffer too short");
        std::vector<std::byte> unpacked(static_cast<std::size_t>(*numel));
        for (uint64_t e = 0; e < *numel; ++e) {
          const auto byte = static_cast<uint8_t>(values[e / 2]);
          const int nibble = (e % 2) ? byte >> 4 : byte & 0xF;
          unpacked[e] = static_cast<std::byte>(static_cast<int8_t>(nibble >= 8 ? nibble - 16 : nibble));
        }
        info.blob = store.add_blob(owned_blob(path, std::move(unpacked)));
        info.size_bytes = *numel;
        info.note = "int4 unpacked";
      } else if (t->sparsity()) {
        auto dense = densify(path, name, *t->sparsity(), info.shape, dtype_size(*dtype), values, data_size);
        info.size_bytes = dense.size();
        info.blob = store.add_blob(owned_blob(path, std::move(dense)));
        info.note = "densified from a sparse tensor of " + std::to_string(data_size / dtype_size(*dtype)) + " values";
      } else {
        info.blob = blob;
        info.offset = data_offset;
        info.size_bytes = data_size;
      }
      if (const auto* q = t->quantization(); q && q->scale() && q->scale()->size() > 0 && !is_real(*dtype)) {
        AffineQuantization aq;
        for (float scale : *q->scale()) aq.scale.push_back(scale);
        // zero_point is [long]; the verifier checks the vector, not that its
        // 8-byte elements are aligned, so they are copied out bytewise.
        const auto* zero = q->zero_point();
        for (std::size_t c = 0; c < aq.scale.size(); ++c) {
          int64_t z = 0;
          if (zero && c < zero->size()) std::memcpy(&z, zero->Data() + 8 * c, 8);
          aq.zero_point.push_back(static_cast<double>(z));
        }
        aq.axis = aq.scale.size() > 1 ? q->quantized_dimension() : -1;
        info.quantization = std::move(aq);
      }
      store.add_tensor(std::move(info));
    }
    if (graph->operators())
      for (const fb::Operator* op : *graph->operators()) {
        if (!op) continue;
        GraphNode node;
        node.op = op->opcode_index() < ops.size() ? ops[op->opcode_index()] : "?";
        node.depth = s == 0 ? 0 : 1;
        auto name_of = [&](int32_t index) {
          return index >= 0 && static_cast<std::size_t>(index) < names.size() ? names[static_cast<std::size_t>(index)]
                                                                              : std::string();
        };
        if (op->inputs())
          for (int32_t i : *op->inputs()) node.inputs.push_back(name_of(i));
        if (op->outputs())
          for (int32_t o : *op->outputs()) node.outputs.push_back(name_of(o));
        store.add_node(std::move(node));
      }
  }
  if (!skipped.empty()) meta["tflite.skipped"] = skipped;

  // Roles from the operators each constant feeds; DEQUANTIZE passes a
  // float16 or int8 weight on to the op that uses it.
  std::map<std::string, std::vector<std::pair<const GraphNode*, std::size_t>>> consumers;
  for (const auto& n : store.graph())
    for (std::size_t i = 0; i < n.inputs.size(); ++i) consumers[n.inputs[i]].emplace_back(&n, i);
  for (const auto& t : store.tensors()) {
    TensorInfo* info = store.mutable_find(t.name);
    std::string name = t.name;
    for (int hops = 0; hops < 4 && consumers.count(name); ++hops) {
      std::string through;
      for (const auto& [node, index] : consumers[name]) {
        if (node->op == "DEQUANTIZE" && !node->outputs.empty()) {
          through = node->outputs.front();
          info->note = info->note.empty() ? "dequantized by DEQUANTIZE" : info->note;
        } else if (const auto r = role_of(node->op, index)) {
          if (info->role == Role::Unknown || info->role == Role::Constant) info->role = r->role;
          const std::size_t rank = info->shape.size();
          if ((rank == 2 && (r->layout == Layout::OI)) || (rank == 4 && r->layout != Layout::OI)) info->layout = r->layout;
        }
      }
      if (info->role != Role::Unknown || through.empty()) break;
      name = through;
    }
    if (info->role == Role::Unknown && !is_real(info->dtype) && !info->quantization) info->role = Role::Constant;
  }
  return store;
}

}  // namespace modeldna::io::detail
