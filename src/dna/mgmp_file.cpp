// Detector files: <dir>/detector.safetensors holds the generator, the
// classifier, the recorded probes and their cached encoding; <dir>/detector.json
// the settings and the training record (docs/spec/detector-v1.md).
#include <charconv>
#include <filesystem>
#include <string_view>

#include "modeldna/core/error.h"
#include "modeldna/core/json_file.h"
#include "modeldna/dna/mgmp.h"
#include "modeldna/io/safetensors.h"
#include "modeldna/io/open_store.h"
#include "modeldna/nn/tensor_io.h"

namespace modeldna::dna {
namespace {

constexpr const char* kFormat = "modeldna-mgmp-detector";
constexpr int kVersion = 1;
// Settings and the training record: a few KB for the paper's detectors; a
// file a user hands us is bounded like every other.
constexpr JsonLimits kDetectorJsonLimits{1u << 20, 16};

constexpr const char* kProjectionPrefix = "readout_projection.";
std::string projection_name(int64_t width) { return kProjectionPrefix + std::to_string(width); }
// Feature widths a detector may hold projections for.
constexpr int64_t kMaxFeatureWidth = 1 << 16;

std::string tensors_path(const std::string& dir) { return (std::filesystem::path(dir) / "detector.safetensors").string(); }
std::string json_path(const std::string& dir) { return (std::filesystem::path(dir) / "detector.json").string(); }

}  // namespace

void MgmpDetector::save(const std::string& dir) const {
  make_directories(dir);
  auto tensors = nn::named_state(*generator_, "generator.");
  for (auto& t : nn::named_state(*classifier_, "classifier.")) tensors.push_back(std::move(t));
  tensors.emplace_back("probes", probes_);
  tensors.emplace_back("probe_encoding", probe_encoding_);
  for (const auto& [width, projection] : projections_) tensors.emplace_back(projection_name(width), projection);
  nn::write_tensors(tensors_path(dir), tensors, {{"modeldna.format", kFormat}});
  write_json_file(json_path(dir), {{"format", kFormat},
                                   {"version", kVersion},
                                   {"method", "MGMP (Mu et al., Model Provenance via Model DNA, ECAI 2024)"},
                                   {"input", format_.to_json()},
                                   {"dna_dim", dna_dim_},
                                   {"settings", settings_.to_json()},
                                   {"record", record_}});
}

MgmpDetector MgmpDetector::load(const std::string& dir) {
  const std::string jpath = json_path(dir);
  const auto doc = read_json_file(jpath, kDetectorJsonLimits);
  MgmpSettings settings;
  nn::InputSpec format;
  int64_t dna_dim = 0;
  try {
    if (doc.value("format", "") != kFormat) throw FormatError(jpath, "not an MGMP detector");
    if (doc.at("version").get<int>() != kVersion) throw FormatError(jpath, "unsupported detector version");
    settings = MgmpSettings::from_json(doc.at("settings"));
    // Detectors written before text support name their image size directly.
    format = doc.contains("input") ? nn::InputSpec::from_json(doc.at("input"))
                                   : nn::InputSpec::from_json({{"modality", "image"},
                                                             {"in_channels", doc.at("in_channels")},
                                                             {"image_size", doc.at("image_size")}});
    dna_dim = doc.at("dna_dim").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(jpath, std::string("malformed detector settings: ") + e.what());
  } catch (const UsageError& e) {
    throw FormatError(jpath, e.what());
  }
  const int64_t outputs = dna_dim - (settings.readout == Readout::Features ? settings.feature_dims : 0);
  if (outputs < 1 || dna_dim > 100000 || settings.verify_probes > 1000000)
    throw FormatError(jpath, "detector dimensions out of range");

  MgmpDetector det(settings, format, outputs);
  det.record_ = doc.value("record", nlohmann::json::object());
  const auto file = io::open_store(tensors_path(dir));
  auto used = nn::load_state(*det.generator_, file, {"generator.", false});
  for (const auto& name : nn::load_state(*det.classifier_, file, {"classifier.", false})) used.insert(name);
  det.probes_ = nn::read_tensor(file, "probes", format.shape(settings.verify_probes));
  if (format.modality == data::Modality::Text) {
    if (det.probes_.scalar_type() != torch::kInt64) throw FormatError(file.path(), "text probes must be I64 token ids");
    if (det.probes_.lt(0).any().item<bool>() || det.probes_.ge(format.vocab_size).any().item<bool>())
      throw FormatError(file.path(), "probe token ids outside the vocabulary of " + std::to_string(format.vocab_size));
  } else {
    if (det.probes_.scalar_type() != torch::kFloat32) throw FormatError(file.path(), "image probes must be F32");
    if (!torch::isfinite(det.probes_).all().item<bool>())
      throw FormatError(file.path(), "probes hold NaN or infinite values");
  }
  det.probe_encoding_ = nn::read_tensor(file, "probe_encoding", {settings.verify_probes, dna_dim});
  if (det.probe_encoding_.scalar_type() != torch::kFloat32) throw FormatError(file.path(), "probe_encoding must be F32");
  if (!torch::isfinite(det.probe_encoding_).all().item<bool>())
    throw FormatError(file.path(), "probe_encoding holds NaN or infinite values");
  used.insert("probes");
  used.insert("probe_encoding");
  if (settings.readout == Readout::Features) {
    for (const auto& t : file.tensors()) {
      if (t.name.rfind(kProjectionPrefix, 0) != 0) continue;
      const std::string digits = t.name.substr(std::string_view(kProjectionPrefix).size());
      int64_t width = 0;
      const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), width);
      if (error != std::errc() || end != digits.data() + digits.size() || width < 1 || width > kMaxFeatureWidth ||
          projection_name(width) != t.name)
        throw FormatError(file.path(), "'" + t.name + "' is not a readout projection of a feature width in 1.." +
                                           std::to_string(kMaxFeatureWidth));
      auto projection = nn::read_tensor(file, t.name, {width, settings.feature_dims});
      if (projection.scalar_type() != torch::kFloat32 || !torch::isfinite(projection).all().item<bool>())
        throw FormatError(file.path(), t.name + " must hold finite F32 values");
      det.projections_[width] = projection;
      used.insert(t.name);
    }
    if (det.projections_.empty()) throw FormatError(file.path(), "a features readout needs a readout_projection tensor");
  }
  nn::refuse_extra_tensors(file, used, "an MGMP detector");
  det.generator_->eval();
  det.classifier_->eval();
  return det;
}

}  // namespace modeldna::dna
