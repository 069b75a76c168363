// TensorFlow.js (docs/formats/tfjs.md): model.json (a graph or layers model:
// modelTopology plus weightsManifest) or the older *weights_manifest.json (the
// manifest alone). Each manifest group's shards, in order, form one byte
// stream holding its weights back to back; shards are resolved only inside
// the manifest's folder. Quantized weights (uint8 / uint16 with scale and
// min, or float16) keep their codes and read dequantized.
#include <map>

#include "byte_reader.h"
#include "modeldna/core/json_file.h"
#include "readers.h"

namespace modeldna::io::detail {
namespace {

constexpr uintmax_t kMaxManifestBytes = 256ull << 20;
constexpr std::size_t kMaxWeights = 1'000'000;
constexpr std::size_t kMaxShards = 100'000;

std::optional<DType> tfjs_dtype(const std::string& name) {
  if (name == "float32") return DType::F32;
  if (name == "int32") return DType::I32;
  if (name == "bool") return DType::BOOL;
  if (name == "uint8") return DType::U8;
  if (name == "uint16") return DType::U16;
  if (name == "float16") return DType::F16;
  if (name == "int8") return DType::I8;
  return std::nullopt;
}

// Role and layout from a graph model's ops (TensorFlow kernels are HWIO,
// depthwise HWCM, MatMul [in, out]).
std::optional<InputRole> graph_role(const std::string& op, std::size_t input, const nlohmann::json& attr) {
  if (op == "Conv2D" || op == "_FusedConv2D" || op == "Conv2DBackpropInput") {
    if (input == 1) return InputRole{Role::Weight, op == "Conv2DBackpropInput" ? Layout::HWOI : Layout::HWIO};
    if (input >= 2 && op == "_FusedConv2D") return InputRole{Role::Bias, Layout::Unknown};
    if (input == 0 && op == "Conv2DBackpropInput") return InputRole{Role::Constant, Layout::Unknown};
  }
  if (op == "DepthwiseConv2dNative" || op == "FusedDepthwiseConv2dNative") {
    if (input == 1) return InputRole{Role::Weight, Layout::HWCM};
    if (input >= 2) return InputRole{Role::Bias, Layout::Unknown};
  }
  if (op == "MatMul" || op == "_FusedMatMul" || op == "BatchMatMulV2") {
    bool transposed = false;
    if (attr.is_object() && attr.contains("transpose_b") && attr["transpose_b"].is_object())
      transposed = attr["transpose_b"].value("b", false);
    if (input == 1) return InputRole{Role::Weight, transposed ? Layout::OI : Layout::IO};
    if (input >= 2) return InputRole{Role::Bias, Layout::Unknown};
  }
  if (op == "BiasAdd" && input == 1) return InputRole{Role::Bias, Layout::Unknown};
  if (op == "FusedBatchNorm" || op == "FusedBatchNormV3") {
    if (input == 1) return InputRole{Role::NormScale, Layout::Unknown};
    if (input == 2) return InputRole{Role::NormShift, Layout::Unknown};
    if (input >= 3) return InputRole{Role::RunningStat, Layout::Unknown};
  }
  if (op == "GatherV2" || op == "ResourceGather") return InputRole{input == 0 ? Role::Embedding : Role::Constant, Layout::Unknown};
  if (op == "Prelu" && input == 1) return InputRole{Role::Weight, Layout::Unknown};
  static const std::map<std::string, std::vector<std::size_t>> kConstant = {
      {"Reshape", {1}}, {"Pad", {1}}, {"PadV2", {1, 2}}, {"MirrorPad", {1}}, {"Mean", {1}}, {"Sum", {1}},
      {"Max", {1}}, {"Transpose", {1}}, {"StridedSlice", {1, 2, 3}}, {"Slice", {1, 2}}, {"ResizeBilinear", {1}},
      {"ResizeNearestNeighbor", {1}}, {"Tile", {1}}, {"ExpandDims", {1}}, {"ConcatV2", {}}, {"Split", {0}},
      {"SplitV", {1, 2}}, {"Squeeze", {}}, {"Fill", {0}}, {"Range", {0, 1, 2}}, {"OneHot", {1}}, {"Cast", {}}};
  const auto it = kConstant.find(op);
  if (it != kConstant.end() && std::count(it->second.begin(), it->second.end(), input))
    return InputRole{Role::Constant, Layout::Unknown};
  return std::nullopt;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Keras-style weight names (layers models, face-api): "conv2d/kernel".
void tag_keras_name(TensorInfo& t) {
  std::string leaf = t.name.substr(t.name.find_last_of('/') + 1);
  if (const auto colon = leaf.find(':'); colon != std::string::npos) leaf.resize(colon);
  const std::size_t rank = t.shape.size();
  if (leaf == "depthwise_kernel" || leaf == "depthwise_filter") {
    t.role = Role::Weight;
    if (rank == 4) t.layout = Layout::HWCM;
  } else if (leaf == "kernel" || leaf == "filters" || leaf == "weights" || leaf == "pointwise_kernel" ||
             leaf == "pointwise_filter" || leaf == "recurrent_kernel") {
    t.role = Role::Weight;
    t.layout = rank == 4 ? Layout::HWIO : rank == 2 ? Layout::IO : Layout::Unknown;
  } else if (leaf == "bias" || leaf == "biases") {
    t.role = Role::Bias;
  } else if (leaf == "gamma" || leaf == "scale") {
    t.role = Role::NormScale;
  } else if (leaf == "beta" || leaf == "offset") {
    t.role = Role::NormShift;
  } else if (leaf == "moving_mean" || leaf == "moving_variance" || ends_with(leaf, "_mean") || ends_with(leaf, "_variance")) {
    t.role = Role::RunningStat;
  } else if (leaf == "embeddings") {
    t.role = Role::Embedding;
  } else if (!is_real(t.dtype) && !t.quantization) {
    t.role = Role::Constant;
  }
}

std::string clean_input(std::string input) {
  if (!input.empty() && input[0] == '^') input.erase(0, 1);  // a control dependency
  if (const auto colon = input.find(':'); colon != std::string::npos) input.resize(colon);
  return input;
}

}  // namespace

TensorStore read_tfjs(const std::string& manifest_path) {
  const nlohmann::json doc = read_json_file(manifest_path, {kMaxManifestBytes, 256});
  TensorStore store(Format::TFJS, manifest_path);
  store.add_file(manifest_path);
  auto& meta = store.mutable_metadata();
  nlohmann::json groups;
  nlohmann::json topology;
  if (doc.is_array()) {
    groups = doc;
    meta["tfjs.format"] = "weights-manifest";
  } else if (doc.is_object()) {
    if (!doc.contains("weightsManifest") || !doc["weightsManifest"].is_array())
      throw FormatError(manifest_path, "model.json has no weightsManifest array");
    groups = doc["weightsManifest"];
    meta["tfjs.format"] = doc.value("format", "layers-model");
    for (const char* key : {"generatedBy", "convertedBy"})
      if (doc.contains(key) && doc[key].is_string()) meta[std::string("tfjs.") + key] = doc[key];
    if (doc.contains("modelTopology")) topology = doc["modelTopology"];
  } else {
    throw FormatError(manifest_path, "the manifest is neither a model.json object nor a weights manifest array");
  }

  std::size_t weights = 0, shard_count = 0;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const auto& group = groups[g];
    const std::string where = "weightsManifest[" + std::to_string(g) + "]";
    if (!group.is_object() || !group.contains("paths") || !group["paths"].is_array() || !group.contains("weights") ||
        !group["weights"].is_array())
      throw FormatError(manifest_path, where + " needs 'paths' and 'weights' arrays");
    // The group's shards, in order, as one stream.
    struct Shard {
      uint32_t blob;
      uint64_t begin, size;  // within the stream
      std::shared_ptr<const Blob> bytes;
    };
    std::vector<Shard> shards;
    uint64_t stream = 0;
    for (const auto& p : group["paths"]) {
      if (!p.is_string()) throw FormatError(manifest_path, where + ": a shard path is not a string");
      if (++shard_count > kMaxShards) throw FormatError(manifest_path, "too many shards");
      const std::string shard = resolve_inside(manifest_path, p.get<std::string>());
      std::shared_ptr<const Blob> blob;
      try {
        blob = map_file(shard);
      } catch (const FormatError& e) {
        throw FormatError(manifest_path, "shard " + quote(p.get<std::string>()) + ": " + e.problem());
      }
      store.add_file(shard);
      shards.push_back({store.add_blob(blob), stream, blob->size(), blob});
      stream += blob->size();
    }
    uint64_t offset = 0;
    for (const auto& w : group["weights"]) {
      if (++weights > kMaxWeights) throw FormatError(manifest_path, "more than " + std::to_string(kMaxWeights) + " weights");
      if (!w.is_object() || !w.contains("name") || !w["name"].is_string() || !w.contains("shape") ||
          !w["shape"].is_array() || !w.contains("dtype") || !w["dtype"].is_string())
        throw FormatError(manifest_path, where + ": a weight entry needs name, shape and dtype");
      TensorInfo t;
      t.name = sanitize_utf8(w["name"].get<std::string>());
      const std::string dtype_text = w["dtype"].get<std::string>();
      for (const auto& d : w["shape"]) {
        if (!d.is_number_integer() || d.get<int64_t>() < 0)
          throw FormatError(manifest_path, "weight " + quote(t.name) + ": shape entry " + d.dump() + " is not a size");
        t.shape.push_back(d.get<int64_t>());
      }
      if (t.shape.size() > 16) throw FormatError(manifest_path, "weight " + quote(t.name) + " has too many dimensions");
      if (dtype_text == "string")
        throw FormatError(manifest_path, "weight " + quote(t.name) + " is a string tensor, which modeldna does not read");
      auto dtype = tfjs_dtype(dtype_text);
      if (!dtype) throw FormatError(manifest_path, "weight " + quote(t.name) + " has unknown dtype " + quote(dtype_text));
      if (w.contains("quantization")) {
        const auto& q = w["quantization"];
        if (!q.is_object() || !q.contains("dtype") || !q["dtype"].is_string())
          throw FormatError(manifest_path, "weight " + quote(t.name) + ": quantization without a dtype");
        const std::string qtype = q["dtype"].get<std::string>();
        const auto stored = tfjs_dtype(qtype);
        if (!stored || (qtype != "uint8" && qtype != "uint16" && qtype != "float16"))
          throw FormatError(manifest_path, "weight " + quote(t.name) + ": unsupported quantization dtype " + quote(qtype));
        if (qtype == "float16") {
          dtype = DType::F16;
          t.note = "float16-quantized";
        } else {
          if (!q.contains("scale") || !q["scale"].is_number() || !q.contains("min") || !q["min"].is_number())
            throw FormatError(manifest_path, "weight " + quote(t.name) + ": " + qtype + " quantization needs scale and min");
          dtype = stored;
          t.quantization = AffineQuantization{{q["scale"].get<double>()}, {0.0}, {q["min"].get<double>()}, -1};
          t.note = qtype + "-quantized, x = q * scale + min";
        }
      }
      t.dtype = *dtype;
      const auto numel = checked_numel(t.shape);
      const auto bytes = numel ? bytes_for(t.dtype, *numel) : std::nullopt;
      if (!bytes) throw FormatError(manifest_path, "weight " + quote(t.name) + " shape overflows");
      t.size_bytes = *bytes;
      if (offset + *bytes > stream || offset + *bytes < offset)
        throw FormatError(manifest_path, "weight " + quote(t.name) + " needs bytes [" + std::to_string(offset) + ", +" +
                                             std::to_string(*bytes) + ") but the shards of " + where + " hold " +
                                             std::to_string(stream));
      // Zero-copy when inside one shard; a weight across a shard boundary is copied.
      const Shard* first = nullptr;
      for (const auto& s : shards)
        if (offset >= s.begin && offset < s.begin + s.size) first = &s;
      if (*bytes == 0 || (first && offset + *bytes <= first->begin + first->size)) {
        t.blob = first ? first->blob : shards.empty() ? store.add_blob(owned_blob(manifest_path, {})) : shards[0].blob;
        t.offset = first ? offset - first->begin : 0;
      } else {
        std::vector<std::byte> joined;
        joined.reserve(static_cast<std::size_t>(*bytes));
        for (const auto& s : shards) {
          const uint64_t lo = std::max(offset, s.begin), hi = std::min(offset + *bytes, s.begin + s.size);
          if (lo < hi) joined.insert(joined.end(), s.bytes->data() + (lo - s.begin), s.bytes->data() + (hi - s.begin));
        }
        t.blob = store.add_blob(owned_blob(manifest_path, std::move(joined)));
        t.note += t.note.empty() ? "joined across shards" : "; joined across shards";
      }
      offset += *bytes;
      tag_keras_name(t);
      store.add_tensor(std::move(t));
    }
  }

  // Graph models: the nodes, and each weight's role from the op it feeds.
  if (topology.is_object() && topology.contains("node") && topology["node"].is_array()) {
    std::map<std::string, std::vector<std::pair<std::size_t, std::size_t>>> consumers;  // name -> (node, input)
    const auto& nodes = topology["node"];
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      const auto& n = nodes[i];
      if (!n.is_object()) continue;
      GraphNode node;
      node.op = n.contains("op") && n["op"].is_string() ? n["op"].get<std::string>() : "?";
      node.name = n.contains("name") && n["name"].is_string() ? sanitize_utf8(n["name"].get<std::string>()) : "";
      node.outputs.push_back(node.name);
      if (n.contains("input") && n["input"].is_array())
        for (const auto& in : n["input"])
          if (in.is_string()) node.inputs.push_back(clean_input(in.get<std::string>()));
      for (std::size_t k = 0; k < node.inputs.size(); ++k) consumers[node.inputs[k]].emplace_back(i, k);
      if (node.op != "Const") store.add_node(std::move(node));
    }
    for (const auto& t : store.tensors()) {
      const auto it = consumers.find(t.name);
      if (it == consumers.end()) continue;
      for (const auto& [node_index, input] : it->second) {
        const auto& n = nodes[node_index];
        const std::string op = n.value("op", "");
        const auto r = graph_role(op, input, n.contains("attr") ? n["attr"] : nlohmann::json());
        if (!r) continue;
        TensorInfo* info = store.mutable_find(t.name);
        info->role = r->role;
        if ((info->shape.size() == 4 && (r->layout == Layout::HWIO || r->layout == Layout::HWCM || r->layout == Layout::HWOI)) ||
            (info->shape.size() == 2 && (r->layout == Layout::IO || r->layout == Layout::OI)))
          info->layout = r->layout;
        break;
      }
    }
  } else if (topology.is_object()) {
    // Layers models: one node per layer, in order, naming its weights.
    const nlohmann::json* config = &topology;
    if (topology.contains("model_config")) config = &topology["model_config"];
    const nlohmann::json* layers = nullptr;
    if (config->is_object() && config->contains("config")) {
      const auto& c = (*config)["config"];
      if (c.is_object() && c.contains("layers") && c["layers"].is_array()) layers = &c["layers"];
      else if (c.is_array()) layers = &c;
    }
    if (layers)
      for (const auto& layer : *layers) {
        if (!layer.is_object()) continue;
        GraphNode node;
        node.op = layer.value("class_name", "?");
        if (layer.contains("config") && layer["config"].is_object()) node.name = layer["config"].value("name", "");
        for (const auto& t : store.tensors())
          if (!node.name.empty() && t.name.rfind(node.name + "/", 0) == 0) node.inputs.push_back(t.name);
        store.add_node(std::move(node));
      }
  }
  return store;
}

}  // namespace modeldna::io::detail
