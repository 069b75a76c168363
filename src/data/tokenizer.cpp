// The SentencePiece tokenizer (tokenizer.h), trained in memory: no input file
// is read and no model_prefix file written. libsentencepiece is reached only
// through the modeldna_sentencepiece module (sentencepiece_module.h says why).
#include "modeldna/data/tokenizer.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "modeldna/core/error.h"
#include "modeldna/core/json_file.h"
#include "sentencepiece_module.h"

#ifndef MODELDNA_SENTENCEPIECE_MODULE
#error "MODELDNA_SENTENCEPIECE_MODULE must be set by src/data/CMakeLists.txt"
#endif

namespace modeldna::data {
namespace {

using spm_module::Api;
using spm_module::Processor;

// A vocabulary of 4,000 pieces is ~300 KB; this bounds what a hostile file can cost.
constexpr uintmax_t kMaxModelBytes = 16u << 20;
// SentencePiece silently drops longer sentences; passages of 40 words are far
// shorter, this only drops e-mail passages made of huge unbroken "words".
constexpr int kMaxSentenceBytes = 8192;
constexpr unsigned kSeed = 20240101;
constexpr std::string_view kMaskPiece = "[MASK]";

// Loaded once, into a link-map namespace of its own (sentencepiece_module.h
// says why); $MODELDNA_SENTENCEPIECE_MODULE overrides the build tree's copy.
const Api& api() {
  static const Api* loaded = [] {
    const char* env = std::getenv("MODELDNA_SENTENCEPIECE_MODULE");
    const std::string path = env && *env ? env : MODELDNA_SENTENCEPIECE_MODULE;
    void* handle = dlmopen(LM_ID_NEWLM, path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      throw Error("cannot load the tokenizer module " + path + ": " + dlerror() +
                  " (build the modeldna_sentencepiece target, or set MODELDNA_SENTENCEPIECE_MODULE)");
    }
    using Entry = const Api* (*)();
    const auto entry = reinterpret_cast<Entry>(dlsym(handle, "modeldna_sentencepiece_api"));
    const Api* a = entry ? entry() : nullptr;
    if (!a || a->version != spm_module::kVersion) {
      throw Error("the tokenizer module " + path + " is not the one this build expects (rebuild it)");
    }
    return a;  // never dlclose()d: tokenizers may live until exit
  }();
  return *loaded;
}

spm_module::Bytes bytes_of(std::string_view s) { return {s.data(), s.size()}; }

// Sinks that copy what the module hands back into this side's strings.
spm_module::ByteSink into(std::string* out) {
  return {[](void* context, const char* data, size_t size) { static_cast<std::string*>(context)->assign(data, size); },
          out};
}
spm_module::IdSink into(std::vector<int>* out) {
  return {[](void* context, const int* ids, size_t count) { static_cast<std::vector<int>*>(context)->assign(ids, ids + count); },
          out};
}

std::shared_ptr<const Processor> make_processor(const std::string& model, std::string* error) {
  const Api& a = api();
  Processor* p = a.load(bytes_of(model), into(error));
  if (!p) return nullptr;
  return std::shared_ptr<const Processor>(p, [&a](const Processor* q) { a.destroy(const_cast<Processor*>(q)); });
}

// The ids modeldna relies on; a model with other ids would make every input wrong.
std::string reserved_problem(const Processor& p) {
  const spm_module::SpecialIds s = api().special_ids(&p, bytes_of(kMaskPiece));
  const bool ok = s.pad == Tokenizer::kPad && s.unk == Tokenizer::kUnknown && s.bos == Tokenizer::kCls &&
                  s.eos == Tokenizer::kEnd && s.mask == Tokenizer::kMask && s.mask_is_control &&
                  s.pieces > Tokenizer::kFirstPiece;
  if (ok) return {};
  return "not a modeldna tokenizer: pad/unk/bos/eos/[MASK] ids are " + std::to_string(s.pad) + "/" +
         std::to_string(s.unk) + "/" + std::to_string(s.bos) + "/" + std::to_string(s.eos) + "/" +
         (s.mask == s.unk ? std::string("absent") : std::to_string(s.mask)) + ", expected 0/1/2/3/4 and at least " +
         std::to_string(Tokenizer::kFirstPiece + 1) + " pieces (a SentencePiece model trained elsewhere?)";
}


// Every `stride`-th sentence, evenly over the whole list, so the choice is
// deterministic and covers every corpus in it.
std::vector<spm_module::Bytes> choose(const std::vector<std::string>& sentences, int64_t max_sentences) {
  const size_t n = sentences.size();
  const size_t m = max_sentences > 0 && static_cast<size_t>(max_sentences) < n ? static_cast<size_t>(max_sentences) : n;
  std::vector<spm_module::Bytes> out;
  out.reserve(m);
  for (size_t i = 0; i < m; ++i) out.push_back(bytes_of(sentences[i * n / m]));
  return out;
}

}  // namespace

Tokenizer Tokenizer::train(const std::vector<std::string>& sentences, const TokenizerOptions& options) {
  MDNA_CHECK(options.vocab_size > kFirstPiece && options.vocab_size <= 1000000,
             "tokenizer vocab_size must be in 6..1000000, got " + std::to_string(options.vocab_size));
  MDNA_CHECK(options.max_sentences >= 0, "tokenizer max_sentences must be >= 0");
  MDNA_CHECK(!sentences.empty(), "no sentences to train a tokenizer on");
  const std::unordered_map<std::string, std::string> kwargs = {
      {"model_type", "unigram"},
      {"vocab_size", std::to_string(options.vocab_size)},
      {"num_threads", "1"},  // with 2 threads unigram training is not reproducible
      {"pad_id", "0"},
      {"unk_id", "1"},
      {"bos_id", "2"},
      {"eos_id", "3"},
      {"pad_piece", "[PAD]"},
      {"unk_piece", "[UNK]"},
      {"bos_piece", "[CLS]"},
      {"eos_piece", "[SEP]"},
      {"control_symbols", std::string(kMaskPiece)},
      {"max_sentence_length", std::to_string(kMaxSentenceBytes)},
      {"minloglevel", "3"},  // quiet: errors come back as a status
  };
  const std::vector<spm_module::Bytes> chosen = choose(sentences, options.max_sentences);
  std::vector<spm_module::Bytes> keys, values;
  for (const auto& [key, value] : kwargs) {
    keys.push_back(bytes_of(key));
    values.push_back(bytes_of(value));
  }
  std::string serialized;
  {
    // The seed and log level are process-wide in libsentencepiece.
    static std::mutex mutex;
    std::lock_guard<std::mutex> lock(mutex);
    std::string error;
    if (!api().train(keys.data(), values.data(), keys.size(), chosen.data(), chosen.size(), kSeed, into(&serialized),
                     into(&error))) {
      throw UsageError("cannot train a tokenizer of " + std::to_string(options.vocab_size) +
                       " pieces (too little text?): " + error);
    }
  }
  std::string error;
  auto processor = make_processor(serialized, &error);
  if (!processor) throw Error("tokenizer training produced an unreadable model: " + error);
  const std::string problem = reserved_problem(*processor);
  if (!problem.empty()) throw Error("tokenizer training: " + problem);
  Tokenizer t;
  t.processor_ = std::move(processor);
  t.serialized_ = std::move(serialized);
  return t;
}

Tokenizer Tokenizer::load(const std::string& path) {
  std::string bytes = read_file(path, kMaxModelBytes, "a tokenizer");
  std::string error;
  auto processor = make_processor(bytes, &error);
  if (!processor) throw FormatError(path, "not a SentencePiece model (" + error + ")");
  const std::string problem = reserved_problem(*processor);
  if (!problem.empty()) throw FormatError(path, problem);
  Tokenizer t;
  t.processor_ = std::move(processor);
  t.serialized_ = std::move(bytes);
  return t;
}

void Tokenizer::save(const std::string& path) const { write_file_atomically(path, serialized_); }

int64_t Tokenizer::vocab_size() const { return api().special_ids(processor_.get(), bytes_of(kMaskPiece)).pieces; }

std::vector<int64_t> Tokenizer::encode(const std::string& text) const {
  std::vector<int> ids;
  std::string error;
  if (!api().encode(processor_.get(), bytes_of(text), into(&ids), into(&error))) throw Error("tokenizer: cannot encode text: " + error);
  return std::vector<int64_t>(ids.begin(), ids.end());
}

std::string Tokenizer::decode(const std::vector<int64_t>& ids) const {
  const int64_t n = vocab_size();
  std::vector<int> narrow;
  narrow.reserve(ids.size());
  for (int64_t id : ids) {
    MDNA_CHECK(id >= 0 && id < n, "token id " + std::to_string(id) + " is outside the vocabulary (0.." +
                                      std::to_string(n - 1) + ")");
    narrow.push_back(static_cast<int>(id));
  }
  std::string text, error;
  if (!api().decode(processor_.get(), narrow.data(), narrow.size(), into(&text), into(&error))) throw Error("tokenizer: cannot decode ids: " + error);
  return text;
}

std::vector<int64_t> Tokenizer::encode_fixed(const std::string& text, int64_t seq_len) const {
  MDNA_CHECK(seq_len >= 1, "seq_len must be at least 1, got " + std::to_string(seq_len));
  const std::vector<int64_t> ids = encode(text);
  std::vector<int64_t> out(static_cast<size_t>(seq_len), kPad);
  out[0] = kCls;
  const size_t take = std::min(ids.size(), static_cast<size_t>(seq_len - 1));
  std::copy(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(take), out.begin() + 1);
  return out;
}

}  // namespace modeldna::data
