#include "geometry_test.h"

#include <array>
#include <cmath>
#include <numeric>
#include <regex>
#include <string_view>

#include "pairing.h"

namespace modeldna::compare::detail {
namespace {

// What an axis of a Llama-family block tensor indexes. Independent training
// leaves residual dimensions and MLP units exchangeable; Q and K's rows sit
// at rotary frequencies, V's rows and O's columns are grouped by head.
enum class Hidden : uint8_t { Residual, MlpUnits, Fixed };

// A block tensor's role: what its units (rows of the canonical view) and its
// inputs index, and the RMSNorm (after "layers.N.") scaling its inputs.
struct Role {
  std::string_view module;  // after "layers.N."
  Hidden units, inputs;
  std::string_view gain;
};

constexpr std::array kLlamaRoles{
    Role{"self_attn.q_proj", Hidden::Fixed, Hidden::Residual, "input_layernorm"},
    Role{"self_attn.k_proj", Hidden::Fixed, Hidden::Residual, "input_layernorm"},
    Role{"self_attn.v_proj", Hidden::Fixed, Hidden::Residual, "input_layernorm"},
    Role{"self_attn.o_proj", Hidden::Residual, Hidden::Fixed, ""},
    Role{"mlp.gate_proj", Hidden::MlpUnits, Hidden::Residual, "post_attention_layernorm"},
    Role{"mlp.up_proj", Hidden::MlpUnits, Hidden::Residual, "post_attention_layernorm"},
    Role{"mlp.down_proj", Hidden::Residual, Hidden::MlpUnits, ""},
};

std::optional<std::pair<std::string, Role>> role_of(const std::string& name) {
  static const std::regex kBlockTensor(R"(layers\.(\d+)\.(.+)\.weight)");
  std::smatch m;
  if (!std::regex_match(name, m, kBlockTensor)) return std::nullopt;
  for (const auto& role : kLlamaRoles)
    if (m[2].str() == role.module) return std::make_pair(m[1].str(), role);
  return std::nullopt;
}

// Every second sampled index is an anchor, the others are tested.
constexpr std::size_t kAnchorStride = 2;

// The values of `rows` x `cols` transposed.
std::vector<float> transposed(const std::vector<float>& m, std::size_t rows, std::size_t cols) {
  std::vector<float> t(m.size());
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t j = 0; j < cols; ++j) t[j * rows + i] = m[i * cols + j];
  return t;
}

// Each column of `rows` x `cols` scaled to unit length over the rows: a
// positive scale per column (an MLP unit's, moved from up into down) cancels.
void normalise_columns(std::vector<float>& m, std::size_t rows, std::size_t cols) {
  std::vector<double> ss(cols, 0.0);
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t j = 0; j < cols; ++j) ss[j] += static_cast<double>(m[i * cols + j]) * m[i * cols + j];
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t j = 0; j < cols; ++j) m[i * cols + j] = ss[j] > 0 ? static_cast<float>(m[i * cols + j] / std::sqrt(ss[j])) : 0.0f;
}

// The sampled vectors along `axis`, each over the whole other axis, with the
// folded gain applied to the inputs.
std::vector<float> vectors_along(const GeometryOperand& o, GeometryAxis axis, const std::vector<int64_t>& sample) {
  std::vector<int64_t> everything(static_cast<std::size_t>(axis == GeometryAxis::Units ? o.shape.inputs : o.shape.units));
  std::iota(everything.begin(), everything.end(), 0);
  std::vector<float> vectors;
  if (axis == GeometryAxis::Units) {
    vectors = read_units(*o.store, *o.info, o.shape, sample, everything);
    if (!o.input_gain.empty())
      for (std::size_t i = 0; i < sample.size(); ++i)
        for (std::size_t j = 0; j < everything.size(); ++j) vectors[i * everything.size() + j] *= o.input_gain[j];
  } else {
    // Cosines between inputs do not change when a column is scaled: no gain.
    vectors = transposed(read_units(*o.store, *o.info, o.shape, everything, sample), everything.size(), sample.size());
  }
  if (o.normalise_span) normalise_columns(vectors, sample.size(), everything.size());
  return vectors;
}

}  // namespace

std::vector<GeometryAxis> geometry_axes(const std::string& ecosystem_name, const UnitShape& shape) {
  std::vector<GeometryAxis> axes;
  const auto role = role_of(ecosystem_name);
  if (!role || shape.dims.size() != 2 || shape.output_head) return axes;
  if (role->second.units != Hidden::Fixed && shape.inputs <= kMaxGeometrySpan) axes.push_back(GeometryAxis::Units);
  if (role->second.inputs != Hidden::Fixed && shape.units <= kMaxGeometrySpan) axes.push_back(GeometryAxis::Inputs);
  return axes;
}

bool scalable_span(const std::string& ecosystem_name, GeometryAxis axis) {
  const auto role = role_of(ecosystem_name);
  return role && (axis == GeometryAxis::Units ? role->second.inputs : role->second.units) == Hidden::MlpUnits;
}

std::optional<std::string> input_gain_of(const std::string& ecosystem_name) {
  const auto role = role_of(ecosystem_name);
  if (!role || role->second.gain.empty()) return std::nullopt;
  return "layers." + role->first + "." + std::string(role->second.gain) + ".weight";
}

std::vector<float> cosine_features(const std::vector<float>& rows, std::size_t count, std::size_t span) {
  if (span == 0) return {};
  std::vector<float> unit(rows.size());
  for (std::size_t i = 0; i < count; ++i) {
    double ss = 0;
    for (std::size_t j = 0; j < span; ++j) ss += static_cast<double>(rows[i * span + j]) * rows[i * span + j];
    const double norm = std::sqrt(ss);
    for (std::size_t j = 0; j < span; ++j) unit[i * span + j] = norm > 0 ? static_cast<float>(rows[i * span + j] / norm) : 0.0f;
  }
  std::vector<float> tested, anchors;
  for (std::size_t i = 0; i < count; ++i) {
    auto& to = i % kAnchorStride == 0 ? anchors : tested;
    const auto row = unit.begin() + static_cast<std::ptrdiff_t>(i * span);
    to.insert(to.end(), row, row + static_cast<std::ptrdiff_t>(span));
  }
  const std::size_t a = anchors.size() / span, t = tested.size() / span;
  const auto products = unit_row_products(tested.data(), anchors.data(), t, a, span);
  return std::vector<float>(products.begin(), products.end());
}

std::optional<GeometryEvidence> geometry_test(const GeometryOperand& source, const GeometryOperand& target,
                                              GeometryAxis axis, int64_t max_units, uint64_t seed) {
  const bool units = axis == GeometryAxis::Units;
  const int64_t length = units ? source.shape.units : source.shape.inputs;
  const int64_t span = units ? source.shape.inputs : source.shape.units;
  const auto sample = sample_indices(length, max_units, seed);
  const std::size_t count = sample.size(), anchors = (count + kAnchorStride - 1) / kAnchorStride, tested = count - anchors;
  if (tested < 4 || span < 2 || span > kMaxGeometrySpan) return std::nullopt;
  const auto s = cosine_features(vectors_along(source, axis, sample), count, static_cast<std::size_t>(span));
  const auto t = cosine_features(vectors_along(target, axis, sample), count, static_cast<std::size_t>(span));
  GeometryEvidence e;
  e.tested = static_cast<int64_t>(tested);
  e.anchors = static_cast<int64_t>(anchors);
  e.span = span;
  e.test = alignment_test(similarity(s, t, tested, tested, anchors), e.tested, seed + 1);
  const auto d = differences(s, t);
  e.relative_difference = d.relative;
  e.max_abs_difference = d.max_abs;
  return e;
}

}  // namespace modeldna::compare::detail
