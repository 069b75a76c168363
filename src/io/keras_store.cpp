// Keras weights (docs/formats/keras.md): the HDF5 .h5 of Keras 2 (weights
// under model_weights/<layer>/<weight name>, layer order from the
// layer_names attribute, the architecture in model_config), and the .keras
// zip of Keras 3 (config.json + model.weights.h5 holding
// layers/<layer>/vars/<i>). Kernels are HWIO, Dense kernels [in, out].
#include <map>
#include <set>

#include "byte_reader.h"
#include "hdf5.h"
#include "modeldna/core/json_file.h"
#include "readers.h"
#include "zip_archive.h"

namespace modeldna::io::detail {
namespace {

constexpr int kMaxGroupDepth = 16;
constexpr std::size_t kMaxDatasets = 1'000'000;

struct KerasReader {
  const Hdf5File& h5;
  TensorStore& store;
  uint32_t file_blob;
  std::size_t datasets = 0;

  void add(const std::string& name, const Hdf5Dataset& d) {
    if (!d.type.dtype) {
      store.mutable_metadata()["keras.skipped"].push_back(name);
      return;
    }
    TensorInfo t;
    t.name = name;
    t.dtype = *d.type.dtype;
    t.shape = d.shape;
    t.size_bytes = d.size;
    if (d.assembled) {
      t.blob = store.add_blob(d.assembled);
      t.offset = d.offset;
      t.note = "assembled from HDF5 chunks";
    } else {
      t.blob = file_blob;
      t.offset = d.offset;
    }
    store.add_tensor(std::move(t));
  }

  // Every dataset under `object`, named by its path from there.
  void walk(uint64_t object, const std::string& prefix, int depth, std::set<uint64_t>& on_path) {
    if (depth > kMaxGroupDepth) throw FormatError(h5.path(), "HDF5 groups nest deeper than " + std::to_string(kMaxGroupDepth));
    if (!on_path.insert(object).second) return;  // a hard-link cycle
    for (const auto& [name, child] : h5.children(object)) {
      const std::string path = prefix.empty() ? name : prefix + "/" + name;
      if (const auto d = h5.dataset(child)) {
        if (++datasets > kMaxDatasets) throw FormatError(h5.path(), "too many datasets");
        add(path, *d);
      } else {
        walk(child, path, depth + 1, on_path);
      }
    }
    on_path.erase(object);
  }
};

std::map<std::string, std::string> attribute_strings(const Hdf5File& h5, uint64_t object) {
  std::map<std::string, std::string> out;
  for (const auto& a : h5.attributes(object)) {
    const auto s = a.strings();
    if (s.size() == 1) out[a.name] = s[0];
  }
  return out;
}

std::vector<std::string> attribute_list(const Hdf5File& h5, uint64_t object, const std::string& name) {
  for (const auto& a : h5.attributes(object))
    if (a.name == name) return a.strings();
  return {};
}

// Layer name -> class name, in order, from a Keras model config (Sequential,
// Functional or a bare layer list), nested models included.
void layer_classes(const nlohmann::json& config, std::vector<std::pair<std::string, std::string>>& out, int depth = 0) {
  if (depth > 16) return;
  const nlohmann::json* layers = nullptr;
  if (config.is_object() && config.contains("config")) {
    const auto& c = config["config"];
    if (c.is_object() && c.contains("layers") && c["layers"].is_array()) layers = &c["layers"];
    else if (c.is_array()) layers = &c;
  }
  if (!layers) return;
  for (const auto& layer : *layers) {
    if (!layer.is_object()) continue;
    const std::string cls = layer.value("class_name", "");
    std::string name;
    if (layer.contains("config") && layer["config"].is_object() && layer["config"].contains("name") &&
        layer["config"]["name"].is_string())
      name = layer["config"]["name"].get<std::string>();
    out.emplace_back(name, cls);
    if (cls == "Sequential" || cls == "Functional" || cls == "Model") layer_classes(layer, out, depth + 1);
  }
}

// What a Keras 3 layer's i-th variable is.
std::optional<std::pair<Role, Layout>> keras3_var(const std::string& cls, std::size_t index, std::size_t rank) {
  if (cls == "Dense" || cls == "EinsumDense") {
    if (index == 0) return std::pair{Role::Weight, rank == 2 ? Layout::IO : Layout::Unknown};
    return std::pair{Role::Bias, Layout::Unknown};
  }
  if (cls == "Conv2D" || cls == "Conv1D" || cls == "Conv3D" || cls == "SeparableConv2D") {
    if (index == 0) return std::pair{Role::Weight, rank == 4 ? Layout::HWIO : Layout::Unknown};
    if (cls == "SeparableConv2D" && index == 1) return std::pair{Role::Weight, rank == 4 ? Layout::HWIO : Layout::Unknown};
    return std::pair{Role::Bias, Layout::Unknown};
  }
  if (cls == "DepthwiseConv2D") {
    if (index == 0) return std::pair{Role::Weight, rank == 4 ? Layout::HWCM : Layout::Unknown};
    return std::pair{Role::Bias, Layout::Unknown};
  }
  if (cls == "BatchNormalization") {
    static const Role roles[] = {Role::NormScale, Role::NormShift, Role::RunningStat, Role::RunningStat};
    if (index < 4) return std::pair{roles[index], Layout::Unknown};
  }
  if (cls == "LayerNormalization" || cls == "GroupNormalization")
    return std::pair{index == 0 ? Role::NormScale : Role::NormShift, Layout::Unknown};
  if (cls == "Embedding" && index == 0) return std::pair{Role::Embedding, Layout::Unknown};
  if (cls == "LSTM" || cls == "GRU" || cls == "SimpleRNN")
    return std::pair{index < 2 ? Role::Weight : Role::Bias, index < 2 && rank == 2 ? Layout::IO : Layout::Unknown};
  return std::nullopt;
}

// Keras 2 names weights like TensorFlow variables: "dense/kernel:0".
void tag_keras2(TensorInfo& t) {
  std::string leaf = t.name.substr(t.name.find_last_of('/') + 1);
  if (const auto colon = leaf.find(':'); colon != std::string::npos) leaf.resize(colon);
  const std::size_t rank = t.shape.size();
  if (leaf == "depthwise_kernel") {
    t.role = Role::Weight;
    if (rank == 4) t.layout = Layout::HWCM;
  } else if (leaf == "kernel" || leaf == "pointwise_kernel" || leaf == "recurrent_kernel") {
    t.role = Role::Weight;
    t.layout = rank == 4 ? Layout::HWIO : rank == 2 ? Layout::IO : Layout::Unknown;
  } else if (leaf == "bias") {
    t.role = Role::Bias;
  } else if (leaf == "gamma") {
    t.role = Role::NormScale;
  } else if (leaf == "beta") {
    t.role = Role::NormShift;
  } else if (leaf == "moving_mean" || leaf == "moving_variance") {
    t.role = Role::RunningStat;
  } else if (leaf == "embeddings") {
    t.role = Role::Embedding;
  } else if (!is_real(t.dtype)) {
    t.role = Role::Constant;
  }
}

nlohmann::json config_json(const std::string& path, const std::string& text) {
  try {
    return parse_json(path, text, {64ull << 20, 128});
  } catch (const FormatError&) {
    return nlohmann::json();  // a broken config loses the layer classes, not the weights
  }
}

TensorStore read_h5(std::shared_ptr<const Blob> file, TensorStore store, const nlohmann::json* keras3_config) {
  const Hdf5File h5 = Hdf5File::open(file);
  auto& meta = store.mutable_metadata();
  const auto root_attributes = attribute_strings(h5, h5.root());
  for (const auto& [key, value] : root_attributes)
    if (key != "model_config" && key != "training_config") meta["keras." + key] = value;
  nlohmann::json config;
  if (root_attributes.count("model_config")) config = config_json(h5.path(), root_attributes.at("model_config"));
  if (keras3_config) config = *keras3_config;
  if (config.is_object() && config.contains("class_name")) meta["keras.class_name"] = config["class_name"];

  KerasReader reader{h5, store, store.add_blob(file)};
  // Keras 2: the weights group and its layer_names, each layer naming its weights.
  uint64_t weights_root = h5.root();
  for (const auto& [name, child] : h5.children(h5.root()))
    if (name == "model_weights") weights_root = child;
  const auto layer_names = attribute_list(h5, weights_root, "layer_names");
  std::vector<std::pair<std::string, std::string>> classes;
  layer_classes(config, classes);
  std::map<std::string, std::string> class_of(classes.begin(), classes.end());

  if (!layer_names.empty() && !keras3_config) {
    std::map<std::string, uint64_t> layers;
    for (const auto& [name, child] : h5.children(weights_root)) layers[name] = child;
    for (const auto& layer : layer_names) {
      GraphNode node;
      node.name = layer;
      node.op = class_of.count(layer) ? class_of[layer] : "?";
      const auto it = layers.find(layer);
      if (it == layers.end()) throw FormatError(h5.path(), "layer_names lists " + quote(layer) + ", which has no group");
      const auto weight_names = attribute_list(h5, it->second, "weight_names");
      for (const auto& weight : weight_names) {
        // weight names are paths inside the layer's group
        uint64_t object = it->second;
        std::size_t start = 0;
        bool found = true;
        while (start <= weight.size() && found) {
          const auto slash = weight.find('/', start);
          const std::string part = weight.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
          found = false;
          for (const auto& [name, child] : h5.children(object))
            if (name == part) {
              object = child;
              found = true;
              break;
            }
          if (slash == std::string::npos) break;
          start = slash + 1;
        }
        if (!found) throw FormatError(h5.path(), "layer " + quote(layer) + " names weight " + quote(weight) + ", which is missing");
        const auto d = h5.dataset(object);
        if (!d) throw FormatError(h5.path(), "weight " + quote(weight) + " is a group, not a dataset");
        reader.add(weight, *d);
        node.inputs.push_back(weight);
      }
      store.add_node(std::move(node));
    }
    for (const auto& t : store.tensors()) tag_keras2(*store.mutable_find(t.name));
  } else {
    std::set<uint64_t> on_path;
    reader.walk(h5.root(), "", 0, on_path);
    // Keras 3: layers/<name>/vars/<i>; the layer's class says what var i is.
    for (const auto& t : store.tensors()) {
      TensorInfo* info = store.mutable_find(t.name);
      const auto vars = t.name.rfind("/vars/");
      if (t.name.rfind("optimizer/", 0) == 0) {
        info->role = Role::Optimizer;
        continue;
      }
      if (vars == std::string::npos) {
        tag_keras2(*info);
        continue;
      }
      const std::string layer = t.name.substr(t.name.rfind('/', vars - 1) + 1, vars - t.name.rfind('/', vars - 1) - 1);
      std::size_t index = 0;
      try {
        index = std::stoul(t.name.substr(vars + 6));
      } catch (const std::logic_error&) {
        continue;
      }
      if (class_of.count(layer))
        if (const auto r = keras3_var(class_of[layer], index, t.shape.size())) {
          info->role = r->first;
          info->layout = r->second;
        }
    }
    for (const auto& [name, cls] : classes) {
      GraphNode node;
      node.name = name;
      node.op = cls;
      for (const auto& t : store.tensors())
        if (t.name.find("layers/" + name + "/") != std::string::npos) node.inputs.push_back(t.name);
      store.add_node(std::move(node));
    }
  }
  return store;
}

}  // namespace

TensorStore read_keras_h5(std::shared_ptr<const Blob> file) {
  TensorStore store(Format::Keras, file->path());
  store.add_file(file->path());
  store.mutable_metadata()["keras.container"] = "h5";
  return read_h5(file, std::move(store), nullptr);
}

TensorStore read_keras_zip(std::shared_ptr<const Blob> file) {
  const ZipArchive zip = ZipArchive::open(file);
  const ZipEntry* config_entry = zip.find("config.json");
  const ZipEntry* weights_entry = zip.find("model.weights.h5");
  if (!config_entry || !weights_entry) throw FormatError(file->path(), ".keras archive without config.json and model.weights.h5");
  if (config_entry->uncompressed_size > (64ull << 20)) throw FormatError(file->path(), "config.json is too large");
  const auto config_blob = zip.read(*config_entry);
  const nlohmann::json config = parse_json(
      file->path() + ":config.json",
      std::string_view(reinterpret_cast<const char*>(config_blob->data()), static_cast<std::size_t>(config_blob->size())),
      {64ull << 20, 128});
  TensorStore store(Format::Keras, file->path());
  store.add_file(file->path());
  auto& meta = store.mutable_metadata();
  meta["keras.container"] = "keras-zip";
  if (const ZipEntry* m = zip.find("metadata.json"); m && m->uncompressed_size < (1u << 20)) {
    const auto blob = zip.read(*m);
    try {
      const auto doc = parse_json(file->path() + ":metadata.json",
                                  std::string_view(reinterpret_cast<const char*>(blob->data()), blob->size()), {1u << 20, 8});
      if (doc.is_object())
        for (const auto& item : doc.items())
          if (item.value().is_string()) meta["keras." + item.key()] = item.value();
    } catch (const FormatError&) {
    }
  }
  return read_h5(zip.read(*weights_entry), std::move(store), &config);
}

}  // namespace modeldna::io::detail
