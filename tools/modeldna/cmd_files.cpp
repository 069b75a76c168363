// modeldna inspect | convert: any model file as data.
#include <chrono>
#include <cstdio>
#include <memory>

#include "cli_support.h"
#include "commands.h"
#include "modeldna/io/convert.h"
#include "modeldna/io/inspect.h"
#include "modeldna/io/language_model.h"
#include "modeldna/io/open_store.h"
#include "runtime.h"

namespace modeldna::cli {
namespace {

struct FileOptions {
  std::string path, out, dtype, to = "safetensors";
  io::OpenOptions open;
  bool json = false, tensors = false, stats = false;
};

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Long arrays (a GGUF vocabulary) and strings are cut for people; --json
// keeps them whole.
std::string short_value(const nlohmann::json& v) {
  if (v.is_array() && v.size() > 8) return "[" + std::to_string(v.size()) + " items]";
  std::string text = v.is_string() ? v.get<std::string>() : v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  for (char& c : text)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  return text.size() > 100 ? text.substr(0, 97) + "..." : text;
}

// What the file says it is: architecture hints from the usual metadata keys.
std::string architecture_hint(const io::TensorStore& store) {
  const auto& m = store.metadata();
  for (const char* key : {"general.architecture", "modeldna.arch", "keras.class_name", "onnx.producer_name",
                          "tflite.description", "tfjs.format"})
    if (m.contains(key)) return std::string(key) + " = " + short_value(m[key]);
  return "";
}

void inspect(const FileOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  const auto store = std::make_shared<io::TensorStore>(io::open_store(o.path, o.open));
  const double open_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  const auto summary = io::summarize(*store);
  // A store that carries a built-in architecture is also checked as a network.
  const auto layers = runtime().runnable_layers(store);

  if (o.json) {
    nlohmann::json out = {{"file", o.path}};
    out.update(io::describe_store(*store, {o.tensors, o.stats}));
    out["runnable"] = layers.has_value();
    out["open_ms"] = open_ms;
    if (layers) out["layers"] = *layers;
    return print_json(out);
  }
  std::printf("file: %s\nformat: %s", o.path.c_str(), std::string(io::format_name(store->format())).c_str());
  if (store->files().size() > 1) std::printf(" (%zu files)", store->files().size());
  std::printf("\ntensors: %lld\nparameters: %lld\nbytes: %llu\ndtypes:", static_cast<long long>(summary.tensors),
              static_cast<long long>(summary.parameters), static_cast<unsigned long long>(summary.bytes));
  for (const auto& [dtype, count] : summary.dtypes) std::printf(" %s x%lld", dtype.c_str(), static_cast<long long>(count));
  std::printf("\n");
  if (const auto hint = architecture_hint(*store); !hint.empty()) std::printf("architecture: %s\n", hint.c_str());
  if (!store->graph().empty()) std::printf("graph: %zu operators\n", store->graph().size());
  try {
    if (const auto lm = io::language_model_config(*store)) std::printf("language model: %s\n", lm->describe().c_str());
  } catch (const FormatError& e) {
    std::printf("language model: unusable metadata: %s\n", e.what());
  }
  if (layers) {
    std::printf("runnable: yes, layers:");
    for (const auto& layer : *layers) std::printf(" %s", layer.c_str());
    std::printf("\n");
  }
  if (!store->metadata().empty()) {
    std::printf("metadata:\n");
    for (const auto& item : store->metadata().items())
      std::printf("  %s: %s\n", item.key().c_str(), short_value(item.value()).c_str());
  }
  if (o.stats) {
    std::printf("tensor statistics (every value read, dequantized):\n");
    for (const auto& t : store->tensors()) {
      const auto st = io::tensor_stats(*store, t);
      std::printf("  %-44s mean %11.4g  std %10.4g  min %10.4g  max %10.4g  zeros %lld%s\n", t.name.c_str(), st.mean,
                  st.stddev, st.min, st.max, static_cast<long long>(st.zeros),
                  st.non_finite ? ("  non-finite " + std::to_string(st.non_finite)).c_str() : "");
    }
  }
  if (o.tensors) {
    std::printf("tensors:\n");
    for (const auto& t : store->tensors())
      std::printf("  %-44s %-7s %-20s %-5s %-12s %llu%s%s\n", t.name.c_str(), std::string(io::dtype_name(t.dtype)).c_str(),
                  shape_text(t.shape).c_str(), std::string(io::layout_name(t.layout)).c_str(),
                  std::string(io::role_name(t.role)).c_str(), static_cast<unsigned long long>(t.size_bytes),
                  t.quantization ? " quantized" : "", t.contiguous() ? "" : " strided");
  }
}

void add_open_options(CLI::App* cmd, FileOptions& o) {
  cmd->add_option("--offset", o.open.offset, "The model starts this many bytes into the file (an embedded TFLite model)");
  cmd->add_option("--length", o.open.length, "The embedded model's length in bytes (default: to the end)");
}

}  // namespace

void add_file_commands(CLI::App& app) {
  auto o = std::make_shared<FileOptions>();
  auto* inspect_cmd = app.add_subcommand("inspect", "Read and validate any model file; list its format, metadata and tensors");
  inspect_cmd->add_option("file", o->path, "A model file or folder (safetensors, PyTorch, GGUF, ONNX, TFLite, TensorFlow.js, Keras)")
      ->required();
  add_json_flag(inspect_cmd, o->json);
  inspect_cmd->add_flag("--tensors", o->tensors, "List every tensor: name, dtype, shape, layout, role, bytes");
  inspect_cmd->add_flag("--stats", o->stats, "Read every value (dequantized) and give each tensor's mean, std, range and zeros");
  add_open_options(inspect_cmd, *o);
  inspect_cmd->callback([o] { inspect(*o); });

  auto c = std::make_shared<FileOptions>();
  auto* convert = app.add_subcommand(
      "convert", "Write any readable model file as a standard safetensors file, or a Llama as llama.cpp's GGUF");
  convert->add_option("file", c->path, "The model file or folder to convert")->required();
  convert->add_option("--out", c->out, "The file to write")->required();
  convert->add_option("--to", c->to, "safetensors (default), or gguf for a Llama-architecture language model")
      ->check(CLI::IsMember({"safetensors", "gguf"}));
  convert->add_option("--dtype", c->dtype,
                      "safetensors: f32 (default), f16, or keep (plain types as stored; quantized become f32); "
                      "gguf: f16 (default), f32, bf16, q8_0, q4_k_m, q5_k_m or q6_k");
  add_json_flag(convert, c->json);
  add_open_options(convert, *c);
  convert->callback([c] {
    if (c->to == "gguf") {
      // As convert_hf_to_gguf.py, whose default --outtype is f16.
      const auto type = io::parse_llama_file_type(c->dtype.empty() ? "f16" : c->dtype);
      io::convert_to_gguf(io::open_store(c->path, c->open), c->out, type);
      if (c->json) return print_json({{"file", c->path}, {"out", c->out}, {"format", "gguf"}});
      std::printf("wrote %s: GGUF as llama.cpp's converter writes it\n", c->out.c_str());
      return;
    }
    const auto mode = io::parse_convert_dtype(c->dtype.empty() ? "f32" : c->dtype);
    const auto store = io::open_store(c->path, c->open);
    const auto r = io::convert_to_safetensors(store, c->out, mode);
    if (c->json)
      return print_json({{"file", c->path}, {"out", c->out}, {"tensors", r.tensors}, {"dequantized", r.dequantized},
                         {"bytes", r.bytes_written}});
    std::printf("wrote %s: %lld tensors (%lld dequantized), %llu bytes of data\n", c->out.c_str(),
                static_cast<long long>(r.tensors), static_cast<long long>(r.dequantized),
                static_cast<unsigned long long>(r.bytes_written));
  });
}

}  // namespace modeldna::cli
