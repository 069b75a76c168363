#include "modeldna/registry/fingerprint.h"

#include <xxhash.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "modeldna/core/error.h"
#include "modeldna/core/sha256.h"

namespace modeldna::registry {
namespace {

// Tensors are hashed in slices whose pages are given back after each one, so
// a model larger than memory is hashed in bounded memory.
constexpr uint64_t kHashSlice = 64ull << 20;

std::string content_hash(const io::TensorStore& store) {
  const auto& files = store.files();
  if (files.size() == 1) return io::file_sha256(files[0]);
  // Several files (shards, a manifest and its weights): the hash of their
  // sorted "name<TAB>sha256" lines, so the order they were read in does not matter.
  std::vector<std::string> lines;
  for (const auto& f : files) lines.push_back(std::filesystem::path(f).filename().string() + "\t" + io::file_sha256(f) + "\n");
  std::sort(lines.begin(), lines.end());
  std::string all;
  for (const auto& l : lines) all += l;
  return sha256_hex(all.data(), all.size());
}

uint64_t tensor_hash(const io::TensorStore& store, const io::TensorInfo& t) {
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  const auto dtype = io::dtype_name(t.dtype);
  XXH3_64bits_update(state, dtype.data(), dtype.size());
  XXH3_64bits_update(state, t.shape.data(), t.shape.size() * sizeof(int64_t));
  const std::byte* bytes = store.bytes(t);
  for (uint64_t begin = 0; begin < t.size_bytes; begin += kHashSlice)
    XXH3_64bits_update(state, bytes + begin, std::min(kHashSlice, t.size_bytes - begin));
  const uint64_t h = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  store.release(t);
  return h;
}

std::string hex64(uint64_t v) {
  static const char* kDigits = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) s[static_cast<std::size_t>(i)] = kDigits[v & 15];
  return s;
}

// A fixed Gaussian value for entry (row, col) of the projection: a hash of
// the position through Box-Muller, so the matrix needs no storage and is the
// same in every build.
float projection(int row, int64_t col) {
  const uint64_t a = XXH3_64bits_withSeed(&col, sizeof col, static_cast<uint64_t>(row) * 2 + 1);
  const uint64_t b = XXH3_64bits_withSeed(&col, sizeof col, static_cast<uint64_t>(row) * 2 + 2);
  const double u1 = (static_cast<double>(a >> 11) + 1) / 9007199254740993.0;
  const double u2 = static_cast<double>(b >> 11) / 9007199254740992.0;
  return static_cast<float>(std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2));
}

// The projection covers sketches of up to this many values per tensor.
constexpr int64_t kMaxAnchorValues = 4096;

const std::vector<float>& projection_matrix() {
  static const std::vector<float> m = [] {
    std::vector<float> out(static_cast<std::size_t>(kAnchorDims * kMaxAnchorValues));
    for (int r = 0; r < kAnchorDims; ++r)
      for (int64_t c = 0; c < kMaxAnchorValues; ++c) out[static_cast<std::size_t>(r * kMaxAnchorValues + c)] = projection(r, c);
    return out;
  }();
  return m;
}

// What the file calls its architecture: modeldna's built-in name, GGUF's
// general.architecture, Keras's model class; "" when it says nothing.
std::string architecture_of(const io::TensorStore& store) {
  const auto& m = store.metadata();
  if (auto it = m.find("modeldna.arch"); it != m.end() && it->is_string()) {
    try {
      const auto arch = nlohmann::json::parse(it->get<std::string>());
      if (arch.is_object() && arch.contains("arch") && arch["arch"].is_string()) return arch["arch"].get<std::string>();
    } catch (const nlohmann::json::exception&) {
      return "";  // not ours after all: the file says nothing we understand
    }
  }
  for (const char* key : {"general.architecture", "keras.class_name"})
    if (auto it = m.find(key); it != m.end() && it->is_string()) return it->get<std::string>().substr(0, 64);
  return "";
}

}  // namespace

Fingerprint fingerprint_store(const io::TensorStore& store, const FingerprintOptions& options) {
  Fingerprint f;
  f.path = std::filesystem::absolute(store.path()).lexically_normal().string();
  f.format = store.format();
  f.architecture = architecture_of(store);
  f.content_hash = content_hash(store);
  const auto summary = io::summarize(store);
  f.tensors = summary.tensors;
  f.parameters = summary.parameters;
  f.bytes = summary.bytes;
  for (const auto& t : store.tensors()) {
    const bool real = io::is_real(t.dtype) || t.quantization.has_value();
    if (real && t.contiguous()) f.tensor_hashes.push_back(tensor_hash(store, t));
  }
  std::sort(f.tensor_hashes.begin(), f.tensor_hashes.end());
  f.tensors_hash = hex64(XXH3_64bits(f.tensor_hashes.data(), f.tensor_hashes.size() * sizeof(uint64_t)));
  f.sketch = compare::sketch_store(store, options.sketch);
  f.shape_signature = f.sketch.shape_signature;
  return f;
}

std::vector<float> anchor_vector(const compare::TensorSketch& t) {
  const int64_t n = t.units * t.inputs;
  MDNA_CHECK(n <= kMaxAnchorValues, "a sketched tensor of more than 4096 values has no anchor vector");
  std::vector<float> v(kAnchorDims, 0.0f);
  if (t.inputs == 1) return v;  // a vector: no rows to correlate
  // The sketch's unit rows (zero mean, unit length; compare::prepare) scaled
  // by 1/sqrt(units): the inner product of two such vectors is the mean
  // correlation of matched rows.
  compare::TensorSketch derived;  // a sketch whose unit rows were dropped (drop_unit_rows) has them derived again
  if (t.unit_rows().empty()) {
    derived = t;
    derived.set_values(t.values());
  }
  const auto& rows = t.unit_rows().empty() ? derived.unit_rows() : t.unit_rows();
  const double scale = 1 / std::sqrt(static_cast<double>(t.units));
  const auto& r = projection_matrix();
  double norm = 0;
  for (int k = 0; k < kAnchorDims; ++k) {
    double dot = 0;
    for (int64_t j = 0; j < n; ++j)
      dot += r[static_cast<std::size_t>(k * kMaxAnchorValues + j)] * (rows[static_cast<std::size_t>(j)] * scale);
    v[static_cast<std::size_t>(k)] = static_cast<float>(dot);
    norm += dot * dot;
  }
  if (norm > 0)
    for (float& x : v) x = static_cast<float>(x / std::sqrt(norm));
  return v;
}

std::vector<std::vector<float>> anchor_vectors(const compare::ModelSketch& sketch) {
  std::vector<std::vector<float>> out;
  const std::size_t n = sketch.tensors.size();
  if (n == 0) return out;
  std::vector<std::size_t> picks = {0, n / 2, n - 1};
  picks.erase(std::unique(picks.begin(), picks.end()), picks.end());
  for (std::size_t k : picks) out.push_back(anchor_vector(sketch.tensors[k]));
  return out;
}

}  // namespace modeldna::registry
