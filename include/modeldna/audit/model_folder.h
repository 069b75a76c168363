// File: modeldna/audit/model_folder.h
// What a Hugging Face-style model folder declares about itself, read as
// data (docs/audit.md): the model card's YAML front matter (`base_model`,
// `base_model_relation`, `license`, `model_name`), config.json
// (`_name_or_path`, `architectures`), adapter_config.json for a PEFT
// adapter, and which weight files it holds. Nothing is run. Every size read
// is bounded; a malformed field is a FormatError naming the file and the
// field. Torch-free.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace modeldna::audit {

/// `base_model_relation` as the Hugging Face hub defines it.
enum class DeclaredRelation : uint8_t { FineTune, Adapter, Merge, Quantized };
std::string_view declared_relation_name(DeclaredRelation r);  // "finetune", "adapter", "merge", "quantized"

/// The card's front matter (README.md between the leading "---" lines).
struct ModelCard {
  std::vector<std::string> base_models;                  // `base_model`: one string or a list
  std::optional<DeclaredRelation> base_model_relation;
  std::optional<std::string> license;                    // an SPDX identifier or the hub's own (llama2, other, ...)
  std::optional<std::string> model_name;
};

/// Parses a card's text (the whole README.md); `path` names it in errors.
/// A card without front matter is an empty ModelCard.
ModelCard parse_model_card(const std::string& path, const std::string& text);

/// adapter_config.json of a PEFT adapter.
struct AdapterConfig {
  std::optional<std::string> base_model_name_or_path;
  std::vector<std::string> target_modules;  // "q_proj", "v_proj", ...
  int64_t rank = 0;                          // `r`
};

/// The files of a model folder, as its names say.
struct ModelFolder {
  std::string path;
  std::optional<ModelCard> card;            // nullopt: no README.md
  std::optional<std::string> name_or_path;  // config.json `_name_or_path`
  std::vector<std::string> architectures;   // config.json `architectures`
  std::optional<AdapterConfig> adapter;     // adapter_config.json
  std::optional<std::string> adapter_weights;  // adapter_model.safetensors
  /// The full model's weight files: the first is what `compare` opens for
  /// the folder (a sharded index, model.safetensors, pytorch_model.bin), then
  /// every other full-weight file (GGUF quantizations, a second format).
  std::vector<std::string> weight_files;

  /// The name registries and `base_model` values use: the card's
  /// `model_name`, else `_name_or_path`, else the folder's name.
  std::string name() const;
};

/// Reads `path` (a folder). FormatError naming the file and field for a
/// card, config.json or adapter_config.json that is malformed.
ModelFolder read_model_folder(const std::string& path);

/// The model folders at or under `root` (a hub mirror): `root` itself when
/// it holds a card, config.json, an adapter or weights, else every such
/// folder below it (sorted; symbolic links to folders not followed; at most
/// kMaxFolderDepth levels down). FormatError when `root` is not a folder.
inline constexpr int kMaxFolderDepth = 8;
std::vector<std::string> model_folders_under(const std::string& root);

/// Whether a declared `base_model` value names `name`: equal ignoring case,
/// or equal after the last "/" on either side (a hub id "org/model"
/// against a folder called "model").
bool names_match(const std::string& declared, const std::string& name);

}  // namespace modeldna::audit
