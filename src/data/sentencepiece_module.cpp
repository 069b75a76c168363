// The modeldna_sentencepiece module: the only code that calls libsentencepiece
// (sentencepiece_module.h says why). Built with hidden visibility; only
// modeldna_sentencepiece_api() is exported.
#include "sentencepiece_module.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <memory>

namespace modeldna::data::spm_module {
namespace {

// Hands SentencePiece the chosen sentences without copying them.
class Sentences : public sentencepiece::SentenceIterator {
 public:
  explicit Sentences(const std::vector<const std::string*>& items) : items_(items) {}
  bool done() const override { return next_ >= items_.size(); }
  void Next() override { ++next_; }
  const std::string& value() const override { return *items_[next_]; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  const std::vector<const std::string*>& items_;
  size_t next_ = 0;
};

std::string train(const std::unordered_map<std::string, std::string>& kwargs,
                  const std::vector<const std::string*>& sentences, unsigned seed, std::string* model) {
  sentencepiece::SetRandomGeneratorSeed(seed);
  Sentences it(sentences);
  const auto status = sentencepiece::SentencePieceTrainer::Train(kwargs, &it, model);
  return status.ok() ? std::string() : status.ToString();
}

Processor* load(const std::string& model, std::string* error) {
  auto p = std::make_unique<Processor>();
  const auto status = p->LoadFromSerializedProto(model);
  if (!status.ok()) {
    *error = status.ToString();
    return nullptr;
  }
  return p.release();
}

void destroy(Processor* p) { delete p; }

SpecialIds special_ids(const Processor* p, const std::string& mask_piece) {
  SpecialIds s;
  s.pad = p->pad_id();
  s.unk = p->unk_id();
  s.bos = p->bos_id();
  s.eos = p->eos_id();
  s.pieces = p->GetPieceSize();
  s.mask = p->PieceToId(mask_piece);
  s.mask_is_control = s.mask >= 0 && s.mask < s.pieces && p->IsControl(s.mask);
  return s;
}

std::string encode(const Processor* p, const std::string& text, std::vector<int>* ids) {
  const auto status = p->Encode(text, ids);
  return status.ok() ? std::string() : status.ToString();
}

std::string decode(const Processor* p, const std::vector<int>& ids, std::string* text) {
  const auto status = p->Decode(ids, text);
  return status.ok() ? std::string() : status.ToString();
}

constexpr Api kApi = {kVersion, train, load, destroy, special_ids, encode, decode};

}  // namespace
}  // namespace modeldna::data::spm_module

extern "C" __attribute__((visibility("default"))) const modeldna::data::spm_module::Api* modeldna_sentencepiece_api() {
  return &modeldna::data::spm_module::kApi;
}
