// ONNX (protobuf ModelProto, docs/formats/onnx.md): initializers (raw_data
// or typed fields, external data inside the model's folder), Constant nodes,
// and the same in every sub-graph (If / Loop / Scan bodies), with the graph
// kept so each tensor is tagged by the op input it feeds. Quantized weights
// (DequantizeLinear, QLinearConv, QLinearMatMul, ConvInteger, MatMulInteger)
// keep their integer codes and read dequantized.
#include <map>
#include <set>

#include "protobuf_wire.h"
#include "readers.h"

namespace modeldna::io::detail {
namespace {

constexpr int kMaxGraphDepth = 16;
constexpr uint64_t kMaxOnnxTensors = 1'000'000;
constexpr uint64_t kMaxNodes = 10'000'000;
constexpr std::size_t kMaxOnnxDims = 16;

// TensorProto.DataType -> ours.
std::optional<DType> onnx_dtype(uint64_t code) {
  switch (code) {
    case 1: return DType::F32;
    case 2: return DType::U8;
    case 3: return DType::I8;
    case 4: return DType::U16;
    case 5: return DType::I16;
    case 6: return DType::I32;
    case 7: return DType::I64;
    case 9: return DType::BOOL;
    case 10: return DType::F16;
    case 11: return DType::F64;
    case 12: return DType::U32;
    case 13: return DType::U64;
    case 16: return DType::BF16;
    case 17: return DType::F8_E4M3;
    case 19: return DType::F8_E5M2;
    default: return std::nullopt;
  }
}

std::string onnx_type_text(uint64_t code) {
  static const char* names[] = {"UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32", "INT64", "STRING",
                                "BOOL", "FLOAT16", "DOUBLE", "UINT32", "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16",
                                "FLOAT8E4M3FN", "FLOAT8E4M3FNUZ", "FLOAT8E5M2", "FLOAT8E5M2FNUZ", "UINT4", "INT4"};
  return code < std::size(names) ? names[code] : "type " + std::to_string(code);
}

// A TensorProto as found, before its bytes are placed in the store.
struct RawTensor {
  std::string name;
  uint64_t data_type = 0;
  std::vector<int64_t> dims;
  const std::byte* raw = nullptr;  // raw_data
  uint64_t raw_size = 0, raw_offset = 0;
  bool has_raw = false;
  std::vector<uint64_t> ints;      // int32_data / int64_data / uint64_data, as read
  std::vector<std::byte> fixed;    // float_data / double_data bytes
  bool external = false;
  std::map<std::string, std::string> external_data;
};

void read_packed_varints(WireReader& outer, const WireField& f, std::vector<uint64_t>& out) {
  if (f.type == WireType::Varint) {
    out.push_back(f.value);
    return;
  }
  if (f.type != WireType::Bytes) outer.fail("integer data with a wrong wire type");
  WireReader packed = WireReader::sub(outer.path(), f);
  while (!packed.done()) {
    if (out.size() >= (uint64_t{1} << 32)) packed.fail("too many packed values");
    out.push_back(packed.varint());
  }
}

void read_fixed(WireReader& outer, const WireField& f, std::vector<std::byte>& out, std::size_t width) {
  if (f.type == WireType::Bytes) {
    if (f.size % width) outer.fail("packed float data is not a whole number of values");
    out.insert(out.end(), f.data, f.data + f.size);
  } else if ((width == 4 && f.type == WireType::Fixed32) || (width == 8 && f.type == WireType::Fixed64)) {
    const uint64_t v = f.value;
    const auto* p = reinterpret_cast<const std::byte*>(&v);
    out.insert(out.end(), p, p + width);
  } else {
    outer.fail("float data with a wrong wire type");
  }
}

RawTensor parse_tensor(WireReader r) {
  RawTensor t;
  while (!r.done()) {
    const WireField f = r.next();
    switch (f.number) {
      case 1: {
        std::vector<uint64_t> dims;
        read_packed_varints(r, f, dims);
        for (uint64_t d : dims) {
          if (static_cast<int64_t>(d) < 0) r.fail("negative tensor dimension");
          t.dims.push_back(static_cast<int64_t>(d));
        }
        if (t.dims.size() > kMaxOnnxDims) r.fail("tensor has more than " + std::to_string(kMaxOnnxDims) + " dimensions");
        break;
      }
      case 2: t.data_type = f.value; break;
      case 8: t.name = sanitize_utf8(f.text()); break;
      case 9:
        t.has_raw = true;
        t.raw = f.data;
        t.raw_size = f.size;
        t.raw_offset = f.offset;
        break;
      case 4: read_fixed(r, f, t.fixed, 4); break;   // float_data
      case 10: read_fixed(r, f, t.fixed, 8); break;  // double_data
      case 5: case 7: case 11: read_packed_varints(r, f, t.ints); break;  // int32 / int64 / uint64 data
      case 14: t.external = f.value == 1; break;
      case 13: {
        WireReader entry = WireReader::sub(r.path(), f);
        std::string key, value;
        while (!entry.done()) {
          const WireField e = entry.next();
          if (e.number == 1) key = std::string(e.text());
          if (e.number == 2) value = std::string(e.text());
        }
        t.external_data[key] = value;
        break;
      }
      default: break;  // segment, string_data, doc_string, metadata
    }
  }
  return t;
}

struct Reader {
  const std::string& path;
  std::shared_ptr<const Blob> file;
  TensorStore& store;
  uint32_t file_blob = 0;
  std::map<std::string, uint32_t> external_blobs;
  std::vector<std::string> skipped;
  uint64_t nodes = 0;

  // Places a TensorProto's values in the store under `name`.
  void add(RawTensor t, const std::string& name) {
    if (store.tensors().size() >= kMaxOnnxTensors) throw FormatError(path, "more than " + std::to_string(kMaxOnnxTensors) + " tensors");
    const auto dtype = onnx_dtype(t.data_type);
    if (!dtype) {
      skipped.push_back(name + " (" + onnx_type_text(t.data_type) + ")");
      return;
    }
    const auto numel = checked_numel(t.dims);
    const auto bytes = numel ? bytes_for(*dtype, *numel) : std::nullopt;
    if (!bytes) throw FormatError(path, "tensor " + quote(name) + " shape overflows");
    TensorInfo info;
    info.name = name;
    info.dtype = *dtype;
    info.shape = t.dims;
    info.size_bytes = *bytes;
    if (t.external) {
      const std::string location = t.external_data.count("location") ? t.external_data["location"] : "";
      const std::string resolved = resolve_inside(path, location);
      auto it = external_blobs.find(resolved);
      if (it == external_blobs.end()) {
        std::shared_ptr<const Blob> data;
        try {
          data = map_file(resolved);
        } catch (const FormatError& e) {
          throw FormatError(path, "external data " + quote(location) + ": " + e.problem());
        }
        // Errors about its bytes name the model and the data file.
        it = external_blobs.emplace(resolved, store.add_blob(slice_blob(data, 0, data->size(), path + ":" + location))).first;
        store.add_file(resolved);
      }
      uint64_t offset = 0, length = *bytes;
      try {
        if (t.external_data.count("offset")) offset = std::stoull(t.external_data["offset"]);
        if (t.external_data.count("length")) length = std::stoull(t.external_data["length"]);
      } catch (const std::logic_error&) {
        throw FormatError(path, "tensor " + quote(name) + ": external data offset or length is not a number");
      }
      if (length != *bytes)
        throw FormatError(path, "tensor " + quote(name) + ": external data length " + std::to_string(length) +
                                    " but " + std::string(dtype_name(*dtype)) + " shape needs " + std::to_string(*bytes));
      info.blob = it->second;
      info.offset = offset;
      info.note = "external data in " + location;
    } else if (t.has_raw) {
      if (t.raw_size != *bytes)
        throw FormatError(path, "tensor " + quote(name) + ": raw_data holds " + std::to_string(t.raw_size) +
                                    " bytes but " + std::string(dtype_name(*dtype)) + " shape needs " + std::to_string(*bytes));
      info.blob = file_blob;
      info.offset = static_cast<uint64_t>(t.raw - file->data());
    } else {
      // Typed fields: float_data / double_data as bytes, integers narrowed
      // to the element width (int32_data carries 8- and 16-bit types too).
      std::vector<std::byte> data;
      const std::size_t width = dtype_size(*dtype);
      if (!t.fixed.empty()) {
        data = std::move(t.fixed);
      } else {
        if (t.ints.size() != *numel)
          throw FormatError(path, "tensor " + quote(name) + " holds " + std::to_string(t.ints.size()) + " values for " +
                                      std::to_string(*numel) + " elements");
        data.resize(static_cast<std::size_t>(*bytes));
        for (std::size_t i = 0; i < t.ints.size(); ++i) std::memcpy(data.data() + i * width, &t.ints[i], width);
      }
      if (data.size() != *bytes)
        throw FormatError(path, "tensor " + quote(name) + " holds " + std::to_string(data.size()) + " bytes of values, "
                                    "its shape needs " + std::to_string(*bytes));
      info.blob = store.add_blob(owned_blob(path, std::move(data)));
    }
    store.add_tensor(std::move(info));
  }

  std::string unique(const std::string& name, const std::string& scope) {
    if (!store.find(name)) return name;
    std::string candidate = scope + "/" + name;
    for (int i = 2; store.find(candidate); ++i) candidate = scope + "/" + name + "#" + std::to_string(i);
    return candidate;
  }

  void parse_graph(WireReader r, int depth, const std::string& scope) {
    if (depth > kMaxGraphDepth) r.fail("sub-graphs nest deeper than " + std::to_string(kMaxGraphDepth));
    while (!r.done()) {
      const WireField f = r.next();
      if (f.type != WireType::Bytes) continue;
      if (f.number == 5) {  // initializer
        RawTensor t = parse_tensor(WireReader::sub(path, f));
        // The main graph's names are unique (a duplicate is refused); a
        // sub-graph may shadow an outer name, which gets its scope.
        const std::string name = depth == 0 ? t.name : unique(t.name, scope);
        add(std::move(t), name);
      } else if (f.number == 1) {  // node
        parse_node(WireReader::sub(path, f), depth, scope);
      } else if (f.number == 15) {  // sparse_initializer
        skipped.push_back("a sparse initializer");
      } else if (f.number == 2 && depth == 0) {
        store.mutable_metadata()["onnx.graph_name"] = sanitize_utf8(f.text());
      }
    }
  }

  void parse_node(WireReader r, int depth, const std::string& scope) {
    if (++nodes > kMaxNodes) r.fail("more than " + std::to_string(kMaxNodes) + " nodes");
    GraphNode node;
    node.depth = depth;
    std::vector<WireField> attributes;
    while (!r.done()) {
      const WireField f = r.next();
      if (f.type != WireType::Bytes) continue;
      switch (f.number) {
        case 1: node.inputs.push_back(sanitize_utf8(f.text())); break;
        case 2: node.outputs.push_back(sanitize_utf8(f.text())); break;
        case 3: node.name = sanitize_utf8(f.text()); break;
        case 4: node.op = sanitize_utf8(f.text()); break;
        case 5: attributes.push_back(f); break;
        default: break;
      }
    }
    const std::string here = scope.empty() ? (node.name.empty() ? node.op : node.name)
                                           : scope + "/" + (node.name.empty() ? node.op : node.name);
    for (const WireField& a : attributes) parse_attribute(WireReader::sub(path, a), node, depth, here);
    store.add_node(std::move(node));
  }

  void parse_attribute(WireReader r, GraphNode& node, int depth, const std::string& scope) {
    std::string name;
    std::optional<int64_t> integer;
    std::vector<WireField> graphs, tensors;
    while (!r.done()) {
      const WireField f = r.next();
      if (f.number == 1) name = sanitize_utf8(f.text());
      else if (f.number == 3 && f.type == WireType::Varint) integer = static_cast<int64_t>(f.value);
      else if ((f.number == 6 || f.number == 11) && f.type == WireType::Bytes) graphs.push_back(f);
      else if (f.number == 5 && f.type == WireType::Bytes) tensors.push_back(f);
    }
    if (integer) node.int_attributes[name] = *integer;
    // Constant's value is a tensor named by the node's output.
    if (node.op == "Constant" && name == "value" && !tensors.empty() && !node.outputs.empty()) {
      RawTensor t = parse_tensor(WireReader::sub(path, tensors.front()));
      add(std::move(t), unique(node.outputs.front(), scope));
    }
    for (const WireField& g : graphs) parse_graph(WireReader::sub(path, g), depth + 1, scope + "." + name);
  }
};

// Which input of which op a tensor feeds says what it is.
std::optional<InputRole> role_of(const GraphNode& n, std::size_t input) {
  const std::string& op = n.op;
  if (op == "Conv" || op == "ConvInteger") {
    if (input == 1) return InputRole{Role::Weight, Layout::OIHW};
    if (input == 2 && op == "Conv") return InputRole{Role::Bias, Layout::Unknown};
    if (input >= 2) return InputRole{Role::QuantParam, Layout::Unknown};
  }
  if (op == "ConvTranspose") {
    // [in, out/group, k...]: a layout claim only for one group
    const bool grouped = n.int_attributes.count("group") && n.int_attributes.at("group") != 1;
    if (input == 1) return InputRole{Role::Weight, grouped ? Layout::Unknown : Layout::IOHW};
    if (input == 2) return InputRole{Role::Bias, Layout::Unknown};
  }
  if (op == "QLinearConv") {
    if (input == 3) return InputRole{Role::Weight, Layout::OIHW};
    if (input == 8) return InputRole{Role::Bias, Layout::Unknown};
    return InputRole{Role::QuantParam, Layout::Unknown};
  }
  if (op == "Gemm") {
    const bool trans_b = n.int_attributes.count("transB") && n.int_attributes.at("transB") != 0;
    if (input == 1) return InputRole{Role::Weight, trans_b ? Layout::OI : Layout::IO};
    if (input == 2) return InputRole{Role::Bias, Layout::Unknown};
  }
  if (op == "MatMul" || op == "MatMulInteger") {
    if (input == 1) return InputRole{Role::Weight, Layout::IO};
    if (input == 0) return InputRole{Role::Weight, Layout::Unknown};
    return InputRole{Role::QuantParam, Layout::Unknown};
  }
  if (op == "QLinearMatMul") {
    if (input == 3 || input == 0) return InputRole{Role::Weight, input == 3 ? Layout::IO : Layout::Unknown};
    return InputRole{Role::QuantParam, Layout::Unknown};
  }
  if (op == "BatchNormalization") {
    if (input == 1) return InputRole{Role::NormScale, Layout::Unknown};
    if (input == 2) return InputRole{Role::NormShift, Layout::Unknown};
    if (input >= 3) return InputRole{Role::RunningStat, Layout::Unknown};
  }
  if (op == "LayerNormalization" || op == "InstanceNormalization" || op == "GroupNormalization" ||
      op == "SimplifiedLayerNormalization" || op == "SkipLayerNormalization" || op == "RMSNormalization") {
    if (input == 1 || (op == "SkipLayerNormalization" && input == 2)) return InputRole{Role::NormScale, Layout::Unknown};
    if (input == 2 || input == 3) return InputRole{Role::NormShift, Layout::Unknown};
  }
  if (op == "LSTM" || op == "GRU" || op == "RNN") {
    if (input == 1 || input == 2) return InputRole{Role::Weight, Layout::Unknown};
    if (input == 3) return InputRole{Role::Bias, Layout::Unknown};
    return InputRole{Role::Constant, Layout::Unknown};
  }
  if (op == "Gather") return InputRole{input == 0 ? Role::Embedding : Role::Constant, Layout::Unknown};
  if (op == "PRelu" && input == 1) return InputRole{Role::Weight, Layout::Unknown};
  if (op == "QuantizeLinear" || op == "DequantizeLinear" || op == "DynamicQuantizeLinear") {
    if (input >= 1) return InputRole{Role::QuantParam, Layout::Unknown};
  }
  // Shape, index and axis inputs: never learned.
  static const std::map<std::string, std::set<std::size_t>> kConstantInputs = {
      {"Reshape", {1}}, {"Expand", {1}}, {"Tile", {1}}, {"Slice", {1, 2, 3, 4}}, {"Squeeze", {1}}, {"Unsqueeze", {1}},
      {"Pad", {1, 2, 3}}, {"Resize", {1, 2, 3}}, {"Upsample", {1}}, {"ConstantOfShape", {0}}, {"TopK", {1}},
      {"Range", {0, 1, 2}}, {"Split", {1}}, {"ReduceMean", {1}}, {"ReduceSum", {1}}, {"ReduceMax", {1}},
      {"OneHot", {1, 2}}, {"ScatterND", {1}}, {"GatherND", {1}}, {"GatherElements", {1}}, {"CumSum", {1}},
      {"Clip", {1, 2}}, {"NonMaxSuppression", {2, 3, 4}}, {"Loop", {0, 1}}, {"If", {0}}, {"Trilu", {1}}};
  const auto it = kConstantInputs.find(op);
  if (it != kConstantInputs.end() && it->second.count(input)) return InputRole{Role::Constant, Layout::Unknown};
  return std::nullopt;
}

// The quantized weight's scale and zero point (initializers), per tensor or
// per channel along `axis`.
std::optional<AffineQuantization> quantization_from(const TensorStore& store, const std::string& scale_name,
                                                    const std::string& zero_name, int64_t axis, std::size_t rank) {
  const TensorInfo* scale = store.find(scale_name);
  if (!scale || !is_real(scale->dtype) || scale->numel() > (int64_t{1} << 24)) return std::nullopt;
  AffineQuantization q;
  for (float s : store.read_f32(*scale)) q.scale.push_back(s);
  const TensorInfo* zero = zero_name.empty() ? nullptr : store.find(zero_name);
  if (zero && zero->numel() == static_cast<int64_t>(q.scale.size()) && !is_real(zero->dtype)) {
    for (int64_t z : store.read_i64(*zero)) q.zero_point.push_back(static_cast<double>(z));
  } else {
    q.zero_point.assign(q.scale.size(), 0.0);
  }
  if (q.scale.size() == 1) {
    q.axis = -1;
  } else {
    if (axis < 0) axis += static_cast<int64_t>(rank);
    if (axis < 0 || axis >= static_cast<int64_t>(rank)) return std::nullopt;
    q.axis = axis;
  }
  return q;
}

void tag_from_graph(TensorStore& store) {
  // name -> the nodes consuming it (input index)
  std::map<std::string, std::vector<std::pair<const GraphNode*, std::size_t>>> consumers;
  for (const auto& n : store.graph())
    for (std::size_t i = 0; i < n.inputs.size(); ++i) consumers[n.inputs[i]].emplace_back(&n, i);

  // The role of what `name` feeds, looking through value-preserving ops.
  auto resolve = [&](const std::string& start) -> std::optional<InputRole> {
    std::string name = start;
    for (int hops = 0; hops < 8; ++hops) {
      const auto it = consumers.find(name);
      if (it == consumers.end()) return std::nullopt;
      std::optional<InputRole> found;
      std::string through;
      for (const auto& [node, index] : it->second) {
        const bool passthrough = (node->op == "DequantizeLinear" && index == 0) || node->op == "Identity" ||
                                 node->op == "Cast" || node->op == "Transpose";
        if (passthrough && !node->outputs.empty()) {
          through = node->outputs.front();
        } else if (auto r = role_of(*node, index)) {
          if (!found || found->role == Role::Constant) found = r;
        }
      }
      if (found) return found;
      if (through.empty()) return std::nullopt;
      name = through;
    }
    return std::nullopt;
  };

  // Quantized weights: codes that a dequantizing op reads with a scale.
  for (const auto& n : store.graph()) {
    auto quantize = [&](std::size_t codes, std::size_t scale, std::size_t zero, int64_t axis) {
      if (n.inputs.size() <= scale) return;
      TensorInfo* t = store.mutable_find(n.inputs[codes]);
      if (!t || is_real(t->dtype) || t->quantization) return;
      const std::string zero_name = n.inputs.size() > zero ? n.inputs[zero] : "";
      if (auto q = quantization_from(store, n.inputs[scale], zero_name, axis, t->shape.size())) {
        store.set_quantization(t->name, std::move(*q));
        t->note = "quantized by " + n.op;
      }
    };
    const int64_t axis = n.int_attributes.count("axis") ? n.int_attributes.at("axis") : 1;
    if (n.op == "DequantizeLinear") quantize(0, 1, 2, axis);
    if (n.op == "QLinearConv") quantize(3, 4, 5, 0);
    if (n.op == "QLinearMatMul") quantize(3, 4, 5, 1);
    // ConvInteger and MatMulInteger carry a zero point but no scale: the
    // weight stands for q - zero_point.
    if ((n.op == "ConvInteger" || n.op == "MatMulInteger") && n.inputs.size() > 1) {
      TensorInfo* t = store.mutable_find(n.inputs[1]);
      if (t && !is_real(t->dtype) && !t->quantization) {
        AffineQuantization q{{1.0}, {0.0}, {}, -1};
        const TensorInfo* zero = n.inputs.size() > 3 ? store.find(n.inputs[3]) : nullptr;
        if (zero && zero->numel() == 1 && !is_real(zero->dtype)) q.zero_point[0] = static_cast<double>(store.read_i64(*zero)[0]);
        store.set_quantization(t->name, q);
        t->note = "zero point of " + n.op;
      }
    }
  }
  for (const auto& t : store.tensors()) {
    TensorInfo* info = store.mutable_find(t.name);
    if (const auto r = resolve(t.name)) {
      info->role = r->role;
      if (info->shape.size() == 2 && r->layout == Layout::OI) info->layout = Layout::OI;
      else if (info->shape.size() == 2 && r->layout == Layout::IO) info->layout = Layout::IO;
      else if (info->shape.size() >= 3 && r->layout == Layout::OIHW) info->layout = Layout::OIHW;
    } else if (!is_real(info->dtype) && !info->quantization) {
      info->role = Role::Constant;
    }
  }
}

}  // namespace

TensorStore read_onnx(std::shared_ptr<const Blob> file) {
  const std::string& path = file->path();
  TensorStore store(Format::ONNX, path);
  store.add_file(path);
  Reader reader{path, file, store, 0, {}, {}, 0};
  reader.file_blob = store.add_blob(file);
  auto& meta = store.mutable_metadata();
  WireReader r(path, file->data(), file->size(), 0);
  bool graph_seen = false;
  nlohmann::json opsets = nlohmann::json::object(), props = nlohmann::json::object();
  while (!r.done()) {
    const WireField f = r.next();
    switch (f.number) {
      case 1: meta["onnx.ir_version"] = f.value; break;
      case 2: meta["onnx.producer_name"] = sanitize_utf8(f.text()); break;
      case 3: meta["onnx.producer_version"] = sanitize_utf8(f.text()); break;
      case 4: meta["onnx.domain"] = sanitize_utf8(f.text()); break;
      case 5: meta["onnx.model_version"] = f.value; break;
      case 7:
        if (f.type != WireType::Bytes) r.fail("graph is not a message");
        if (graph_seen) r.fail("two graphs in one model");
        graph_seen = true;
        reader.parse_graph(WireReader::sub(path, f), 0, "");
        break;
      case 8: {
        if (f.type != WireType::Bytes) r.fail("opset_import is not a message");
        WireReader opset = WireReader::sub(path, f);
        std::string domain;
        uint64_t version = 0;
        while (!opset.done()) {
          const WireField o = opset.next();
          if (o.number == 1) domain = sanitize_utf8(o.text());
          if (o.number == 2) version = o.value;
        }
        opsets[domain.empty() ? "ai.onnx" : domain] = version;
        break;
      }
      case 14: {
        if (f.type != WireType::Bytes) r.fail("metadata_props is not a message");
        WireReader entry = WireReader::sub(path, f);
        std::string key, value;
        while (!entry.done()) {
          const WireField e = entry.next();
          if (e.number == 1) key = sanitize_utf8(e.text());
          if (e.number == 2) value = sanitize_utf8(e.text());
        }
        props[key] = value;
        break;
      }
      default: break;
    }
  }
  if (!graph_seen) throw FormatError(path, "ONNX model without a graph");
  if (!opsets.empty()) meta["onnx.opsets"] = opsets;
  if (!props.empty()) meta["onnx.metadata"] = props;
  if (!reader.skipped.empty()) meta["onnx.skipped"] = reader.skipped;
  tag_from_graph(store);
  return store;
}

}  // namespace modeldna::io::detail
