// File: modeldna/nn/model_format.h
// How a model file says modeldna can run it: safetensors __metadata__ with
// "modeldna.format" = "model-v1" and "modeldna.arch" = its ArchConfig as
// JSON (nn/model_file.h reads it). Torch-free, so that commands that never
// run a network can tell, without libtorch, whether a file is runnable.
#pragma once

#include <string>

#include "modeldna/io/language_model.h"
#include "modeldna/io/tensor_store.h"

namespace modeldna::nn {

inline constexpr const char* kModelFormatKey = "modeldna.format";
inline constexpr const char* kModelFormat = "model-v1";
inline constexpr const char* kArchKey = "modeldna.arch";

/// Whether `store` declares a modeldna model (its architecture is checked
/// only when it is loaded: runnable_arch, load_model).
inline bool declares_runnable_model(const io::TensorStore& store) {
  const auto& meta = store.metadata();
  const auto it = meta.find(kModelFormatKey);
  return it != meta.end() && it->is_string() && it->get<std::string>() == kModelFormat;
}

/// Whether `store` holds a decoder language model that modeldna's runner
/// computes (nn/language_model.h): a Llama-family GGUF, or a Hugging Face
/// checkpoint with its config.json. FormatError naming the file and the
/// field when its metadata contradicts its tensors.
inline bool declares_language_model(const io::TensorStore& store) {
  const auto config = io::language_model_config(store);
  return config && config->cannot_run.empty();
}

}  // namespace modeldna::nn
