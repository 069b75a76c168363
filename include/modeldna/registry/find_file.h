// File: modeldna/registry/find_file.h
// The one library call behind "which registered model, if any, is FILE
// derived from?": the CLI's `find` and the tests run it. It fingerprints the
// file, tests it against the registry's sketches and, when no weights are
// shared, judges it on outputs (Fingerprinter). Torch-free.
//
//   Registry reg("team.sqlite");
//   StoreFingerprinter weights_only;
//   const auto found = find_file(reg, "suspect.gguf", {}, weights_only);
//   if (found.parent) ...
#pragma once

#include <string>

#include "modeldna/registry/fingerprinter.h"
#include "modeldna/registry/registry.h"

namespace modeldna::registry {

/// find on a fingerprint already made (the bench fingerprints once).
FindResult find_fingerprint(Registry& registry, const Fingerprint& query, const FindOptions& options,
                            Fingerprinter& fingerprinter);

/// Fingerprints `path` and finds its parent; timings include the fingerprint.
FindResult find_file(Registry& registry, const std::string& path, const FindOptions& options, Fingerprinter& fingerprinter);

}  // namespace modeldna::registry
