// File: modeldna/registry/fingerprint.h
// What the registry keeps of a model (docs/spec/fingerprint-v4.md): computed
// once from the tensor store, a few tens of kilobytes whatever the model's
// size. It holds compare's sketches (the matched-unit test runs on them),
// a hash of every tensor (exact copies, renamed or re-sharded), the shape
// signature (the architecture's bucket), the files' SHA-256 (idempotent
// adds), and, for models modeldna can run, their outputs on standard probes.
// Torch-free.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modeldna/compare/sketch.h"
#include "modeldna/io/tensor_store.h"

namespace modeldna::registry {

inline constexpr uint32_t kFingerprintVersion = 4;  // written and read; 1 to 3 are refused (the spec says why)
/// The encoded fingerprint never exceeds this (decode refuses more).
inline constexpr std::size_t kMaxFingerprintBytes = 4u << 20;

/// Outputs on the standard probes (evidence/fingerprint_probes.h), when the
/// model can run: rows are probes, columns classes.
struct ProbeOutputs {
  std::string input_kind;  // what the probes are ("images 1x28x28", "token ids, vocabulary 4000, length 64")
  int64_t probes = 0;      // n: rows are n clean, n noisy, n CutMix
  int64_t classes = 0;
  std::vector<float> logits;  // 3n x classes
};

struct Fingerprint {
  uint32_t version = kFingerprintVersion;
  std::string path;          // absolute path as added
  std::string content_hash;  // SHA-256 of the file (of the files' hashes for multi-file models)
  io::Format format = io::Format::Safetensors;
  int64_t tensors = 0;       // in the store
  int64_t parameters = 0;    // learned values
  int64_t bytes = 0;         // of tensor data
  std::string architecture;  // the built-in architecture or the file's own name for it; "" if none
  /// Hash of the sorted canonical dims of the candidate tensors: models of
  /// one architecture share it.
  std::string shape_signature;
  /// XXH3-64 of every real tensor's (dtype, shape, bytes), sorted; and their
  /// combined hash: two files holding the same tensors under other names or
  /// shards share `tensors_hash`.
  std::vector<uint64_t> tensor_hashes;
  std::string tensors_hash;
  compare::ModelSketch sketch;
  std::optional<ProbeOutputs> outputs;
};

struct FingerprintOptions {
  compare::SketchOptions sketch{24, 32, 32, 0};
};

/// Fingerprints a store: reads every file once for the hashes, every
/// sketched tensor once for its statistics. Outputs on probes are the
/// caller's to add (running a model needs torch: evidence/fingerprint_probes.h).
Fingerprint fingerprint_store(const io::TensorStore& store, const FingerprintOptions& options = {});

/// The binary encoding of docs/spec/fingerprint-v4.md.
std::string encode(const Fingerprint& fingerprint);
/// Decodes bytes from a registry; FormatError naming `what` for anything
/// malformed (every count and size bounded before it is used).
Fingerprint decode(std::string_view bytes, const std::string& what);

/// A summary for people and --json (no sketch values).
nlohmann::json to_json(const Fingerprint& fingerprint);

/// Vectors for the nearest-neighbour index: the first, middle and last
/// sketched tensors, each standardised row by row, projected on 64 fixed
/// random directions and normalised. Inner products approximate the
/// tensors' matched-unit correlation; unrelated tensors give about 0.
inline constexpr int kAnchorDims = 64;
std::vector<std::vector<float>> anchor_vectors(const compare::ModelSketch& sketch);
/// The anchor vector of one sketched tensor.
std::vector<float> anchor_vector(const compare::TensorSketch& tensor);

}  // namespace modeldna::registry
