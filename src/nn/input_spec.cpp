#include "modeldna/nn/input_spec.h"

#include "modeldna/core/error.h"

namespace modeldna::nn {

InputSpec InputSpec::image(int64_t in_channels, int64_t image_size) {
  InputSpec f;
  f.in_channels = in_channels;
  f.image_size = image_size;
  return f;
}

InputSpec InputSpec::text(int64_t vocab_size, int64_t seq_len) {
  InputSpec f;
  f.modality = data::Modality::Text;
  f.in_channels = f.image_size = 0;
  f.vocab_size = vocab_size;
  f.seq_len = seq_len;
  return f;
}

bool InputSpec::operator==(const InputSpec& o) const {
  return o.modality == modality && o.in_channels == in_channels && o.image_size == image_size &&
         o.vocab_size == vocab_size && o.seq_len == seq_len;
}

std::string InputSpec::describe() const {
  if (modality == data::Modality::Text)
    return std::to_string(seq_len) + "-token texts" +
           (vocab_size > 0 ? " (vocabulary " + std::to_string(vocab_size) + ")" : std::string());
  return std::to_string(in_channels) + "x" + std::to_string(image_size) + "x" + std::to_string(image_size) + " images";
}

std::vector<int64_t> InputSpec::shape(int64_t n) const {
  if (modality == data::Modality::Text) return {n, seq_len};
  return {n, in_channels, image_size, image_size};
}

bool InputSpec::matches_batch(const torch::Tensor& batch) const {
  if (!batch.defined() || batch.dim() < 1) return false;
  const bool ids = batch.scalar_type() == torch::kInt64;
  if (ids != (modality == data::Modality::Text)) return false;
  return batch.sizes().slice(1) == c10::IntArrayRef(shape(1)).slice(1);
}

void InputSpec::check() const {
  if (modality == data::Modality::Text) {
    MDNA_CHECK(in_channels == 0 && image_size == 0, "a text input has no in_channels or image_size");
    MDNA_CHECK(vocab_size >= 6 && vocab_size <= 1000000, "vocab_size out of range");
    MDNA_CHECK(seq_len >= 2 && seq_len <= 4096, "seq_len out of range");
  } else {
    MDNA_CHECK(vocab_size == 0 && seq_len == 0, "an image input has no vocab_size or seq_len");
    MDNA_CHECK(in_channels > 0 && in_channels <= 16, "in_channels out of range");
    MDNA_CHECK(image_size >= 8 && image_size <= 512, "image_size out of range");
  }
}

nlohmann::json InputSpec::to_json() const {
  const std::string name(data::modality_name(modality));
  if (modality == data::Modality::Text) return {{"modality", name}, {"vocab_size", vocab_size}, {"seq_len", seq_len}};
  return {{"modality", name}, {"in_channels", in_channels}, {"image_size", image_size}};
}

InputSpec InputSpec::from_json(const nlohmann::json& j) {
  try {
    const auto name = j.at("modality").get<std::string>();
    const auto modality = data::parse_modality(name);
    MDNA_CHECK(modality.has_value(), "input modality must be image or text, not '" + name + "'");
    const auto f = *modality == data::Modality::Text
                       ? text(j.at("vocab_size").get<int64_t>(), j.at("seq_len").get<int64_t>())
                       : image(j.at("in_channels").get<int64_t>(), j.at("image_size").get<int64_t>());
    f.check();
    return f;
  } catch (const nlohmann::json::exception& e) {
    throw UsageError(std::string("bad input spec: ") + e.what());
  }
}

InputSpec InputSpec::of_batch(const torch::Tensor& batch) {
  if (batch.defined() && batch.dim() == 2 && batch.scalar_type() == torch::kInt64)
    return text(/*vocab_size unknown*/ 0, batch.size(1));
  MDNA_CHECK(batch.defined() && batch.dim() == 4 && batch.is_floating_point() && batch.size(2) == batch.size(3),
             "inputs must be float images [n, channels, size, size] or token ids int64 [n, seq_len], got " +
                 (batch.defined() ? std::to_string(batch.dim()) + " dimensions" : std::string("nothing")));
  return image(batch.size(1), batch.size(2));
}

}  // namespace modeldna::nn
