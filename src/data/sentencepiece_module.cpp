// The modeldna_sentencepiece module: the only code that calls libsentencepiece
// (sentencepiece_module.h says why). Built with hidden visibility; only
// modeldna_sentencepiece_api() is exported. Every string and vector here is
// this namespace's own: what goes back to the caller goes through its sinks.
#include "sentencepiece_module.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace modeldna::data::spm_module {
namespace {

std::string own(Bytes b) { return std::string(b.data, b.size); }

void put(ByteSink sink, const std::string& s) { sink.put(sink.context, s.data(), s.size()); }

class Sentences : public sentencepiece::SentenceIterator {
 public:
  Sentences(const Bytes* items, std::size_t count) : items_(items), count_(count) { load(); }
  bool done() const override { return next_ >= count_; }
  void Next() override {
    ++next_;
    load();
  }
  const std::string& value() const override { return current_; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  void load() {
    if (next_ < count_) current_ = own(items_[next_]);
  }
  const Bytes* items_;
  std::size_t count_;
  std::size_t next_ = 0;
  std::string current_;
};

bool train(const Bytes* keys, const Bytes* values, std::size_t options, const Bytes* sentences, std::size_t count,
           unsigned seed, ByteSink model, ByteSink error) {
  std::unordered_map<std::string, std::string> kwargs;
  for (std::size_t i = 0; i < options; ++i) kwargs[own(keys[i])] = own(values[i]);
  sentencepiece::SetRandomGeneratorSeed(seed);
  Sentences it(sentences, count);
  std::string serialized;
  const auto status = sentencepiece::SentencePieceTrainer::Train(kwargs, &it, &serialized);
  if (!status.ok()) {
    put(error, status.ToString());
    return false;
  }
  put(model, serialized);
  return true;
}

Processor* load(Bytes model, ByteSink error) {
  auto p = std::make_unique<Processor>();
  const auto status = p->LoadFromSerializedProto(std::string_view(model.data, model.size));
  if (!status.ok()) {
    put(error, status.ToString());
    return nullptr;
  }
  return p.release();
}

void destroy(Processor* p) { delete p; }

SpecialIds special_ids(const Processor* p, Bytes mask_piece) {
  SpecialIds s;
  s.pad = p->pad_id();
  s.unk = p->unk_id();
  s.bos = p->bos_id();
  s.eos = p->eos_id();
  s.pieces = p->GetPieceSize();
  s.mask = p->PieceToId(std::string_view(mask_piece.data, mask_piece.size));
  s.mask_is_control = s.mask >= 0 && s.mask < s.pieces && p->IsControl(s.mask);
  return s;
}

bool encode(const Processor* p, Bytes text, IdSink ids, ByteSink error) {
  std::vector<int> out;
  const auto status = p->Encode(std::string_view(text.data, text.size), &out);
  if (!status.ok()) {
    put(error, status.ToString());
    return false;
  }
  ids.put(ids.context, out.data(), out.size());
  return true;
}

bool decode(const Processor* p, const int* ids, std::size_t count, ByteSink text, ByteSink error) {
  std::string out;
  const auto status = p->Decode(std::vector<int>(ids, ids + count), &out);
  if (!status.ok()) {
    put(error, status.ToString());
    return false;
  }
  put(text, out);
  return true;
}

constexpr Api kApi = {kVersion, train, load, destroy, special_ids, encode, decode};

}  // namespace
}  // namespace modeldna::data::spm_module

extern "C" __attribute__((visibility("default"))) const modeldna::data::spm_module::Api* modeldna_sentencepiece_api() {
  return &modeldna::data::spm_module::kApi;
}
