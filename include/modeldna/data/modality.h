// File: modeldna/data/modality.h
// What a model reads: float images or token ids. Torch-free, header-only, so
// torch-free modules (the manifest, the registry) can name it.
#pragma once

#include <optional>
#include <string_view>

#include "modeldna/core/error.h"

namespace modeldna::data {

/// Spelled "image" / "text" in files and on the command line.
enum class Modality { Image, Text };

inline std::string_view modality_name(Modality modality) {
  switch (modality) {
    case Modality::Image: return "image";
    case Modality::Text: return "text";
  }
  throw InternalError("invalid Modality");
}

/// The modality spelled `name`; std::nullopt if none.
inline std::optional<Modality> parse_modality(std::string_view name) {
  if (name == "image") return Modality::Image;
  if (name == "text") return Modality::Text;
  return std::nullopt;
}

}  // namespace modeldna::data
