// Private to io: one reader per format, each building a TensorStore from
// bytes it never trusts. open_store.cpp picks one by content.
#pragma once

#include <memory>
#include <string>

#include "modeldna/io/tensor_store.h"

namespace modeldna::io::detail {

TensorStore read_safetensors(std::shared_ptr<const Blob> file);
/// model.safetensors.index.json and the shards its weight_map names.
TensorStore read_safetensors_index(const std::string& index_path);
TensorStore read_pytorch(std::shared_ptr<const Blob> file);
TensorStore read_gguf(std::shared_ptr<const Blob> file);
TensorStore read_onnx(std::shared_ptr<const Blob> file);
TensorStore read_tflite(std::shared_ptr<const Blob> file);
/// model.json (graph or layers model) or the older *weights_manifest.json.
TensorStore read_tfjs(const std::string& manifest_path);
TensorStore read_keras_h5(std::shared_ptr<const Blob> file);
TensorStore read_keras_zip(std::shared_ptr<const Blob> file);

/// What a graph operation's input is (a kernel, a bias, ...) and how its
/// axes are laid out, as the graph readers (ONNX, TFLite, TF.js) tell it.
struct InputRole {
  Role role;
  Layout layout;
};

/// Role and layout from a tensor's name and shape, for the formats without a
/// graph (safetensors, PyTorch, GGUF): ".bias" is a bias, a 2-D ".weight" an
/// [out, in] matrix, "running_mean" a statistic, an integer tensor a constant.
void tag_by_name(TensorInfo& tensor);

/// A view of [offset, offset + size) of `parent` (bounds checked: FormatError).
std::shared_ptr<const Blob> slice_blob(std::shared_ptr<const Blob> parent, uint64_t offset, uint64_t size,
                                       std::string path = "");

/// The folder of a file, and a file name inside it that a manifest names:
/// FormatError (naming `manifest`) for an absolute path, "..", or a name that
/// leaves the folder.
std::string resolve_inside(const std::string& manifest, const std::string& name);

/// Replaces invalid UTF-8 (from a file's strings) with U+FFFD so that JSON
/// output never fails.
std::string sanitize_utf8(std::string_view text);

}  // namespace modeldna::io::detail
