// The text tasks: SOTU addresses, SpamAssassin e-mails and Moby Dick cut into
// 40-word passages, each passage on the same side of a fixed 80/20 split in
// every task, and encoded to [CLS]-first token ids (docs/datasets.md).
#include "text_task.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <system_error>

#include "hash.h"
#include "modeldna/core/error.h"
#include "modeldna/data/text_corpus.h"

namespace modeldna::data {
namespace text {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kPassageWords = 40;
// Fewer words than this says too little to tell spam from ham.
constexpr int64_t kMinEmailWords = 10;
// One passage in five is a test passage.
constexpr uint64_t kTestOneIn = 5;
constexpr int64_t kPresidentGroups = 4;
constexpr int64_t kPresidentsPerGroup = 10;
constexpr int64_t kFirstYear = 1790;
constexpr int64_t kEras = 10;
constexpr int64_t kMobySections = 10;

struct Passage {
  std::string key;  // stable: "<corpus>/<file>#<index>"
  std::string text;
  uint64_t hash = 0;  // hash_key(key): decides the split and the order
  bool test = false;
  // What the labels are made of.
  int64_t year = 0;        // SOTU
  int64_t president = -1;  // SOTU: rank by first address, 0 = Washington
  std::string party;       // SOTU, as in the package
  std::string group;       // e-mail: "spam-1", "easy-ham-1", ...
  int64_t position = 0;    // Moby Dick: passage index over the whole book
};

struct Corpora {
  std::vector<Passage> sotu, email, moby;
  int64_t last_year = 0;
};

Passage make_passage(std::string text, const std::string& key) {
  Passage p;
  p.key = key;
  p.text = std::move(text);
  p.hash = hash_key(key);
  p.test = p.hash % kTestOneIn == 0;
  return p;
}

std::string file_name(const std::string& path) { return fs::path(path).filename().string(); }

void add_sotu(Corpora& c) {
  const std::vector<SotuSpeech> speeches = load_sotu();
  // Presidents ranked by the year of their first address (speeches come sorted by year).
  std::map<std::string, int64_t> first_year;
  for (const auto& s : speeches) first_year.emplace(s.president, s.year);
  std::vector<std::pair<int64_t, std::string>> ranked;
  for (const auto& [name, year] : first_year) ranked.emplace_back(year, name);
  std::sort(ranked.begin(), ranked.end());
  std::map<std::string, int64_t> rank;
  for (size_t i = 0; i < ranked.size(); ++i) rank[ranked[i].second] = static_cast<int64_t>(i);

  for (const auto& s : speeches) {
    c.last_year = std::max(c.last_year, s.year);
    const std::vector<std::string> passages = split_passages(s.text, kPassageWords);
    for (size_t i = 0; i < passages.size(); ++i) {
      Passage p = make_passage(passages[i], "sotu/" + file_name(s.file) + "#" + std::to_string(i));
      p.year = s.year;
      p.president = rank.at(s.president);
      p.party = s.party;
      c.sotu.push_back(std::move(p));
    }
  }
}

// The first kPassageWords words of a body, or nothing below kMinEmailWords.
std::string email_passage(const std::string& body) {
  std::string out;
  int64_t words = 0;
  size_t i = 0;
  auto space = [](char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v'; };
  while (i < body.size() && words < kPassageWords) {
    while (i < body.size() && space(body[i])) ++i;
    const size_t start = i;
    while (i < body.size() && !space(body[i])) ++i;
    if (i == start) break;
    if (words++ > 0) out += ' ';
    out.append(body, start, i - start);
  }
  return words >= kMinEmailWords ? out : std::string();
}

void add_email(Corpora& c) {
  for (const auto& e : load_spam_assassin()) {
    std::string text = email_passage(e.body);
    if (text.empty()) continue;
    Passage p = make_passage(std::move(text), "spam-assassin/" + e.group + "/" + file_name(e.file) + "#0");
    p.group = e.group;
    c.email.push_back(std::move(p));
  }
}

void add_moby(Corpora& c) {
  for (const auto& chapter : load_moby_dick()) {
    const std::vector<std::string> passages = split_passages(chapter.text, kPassageWords);
    for (size_t i = 0; i < passages.size(); ++i) {
      Passage p = make_passage(passages[i], "moby-dick/" + file_name(chapter.file) + "#" + std::to_string(i));
      p.position = static_cast<int64_t>(c.moby.size());
      c.moby.push_back(std::move(p));
    }
  }
}

// Parsing ~6,500 JSON files takes about a second: done once per data folder
// per process.
const Corpora& corpora() {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const Corpora>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto& slot = cache[data_dir()];
  if (!slot) {
    auto c = std::make_shared<Corpora>();
    add_sotu(*c);
    add_email(*c);
    add_moby(*c);
    slot = std::move(c);
  }
  return *slot;
}

// Tokenizers by path, reloaded when the file's size or mtime changes (a zoo
// rebuilt in the same process writes a new one).
std::shared_ptr<const Tokenizer> tokenizer_at(const std::string& path) {
  static std::mutex mutex;
  static std::map<std::string, std::pair<std::string, std::shared_ptr<const Tokenizer>>> cache;
  std::error_code ec;
  const uintmax_t size = fs::file_size(path, ec);
  const auto mtime = ec ? 0 : fs::last_write_time(path, ec).time_since_epoch().count();
  const std::string stamp = ec ? std::string() : std::to_string(size) + "@" + std::to_string(mtime);
  std::lock_guard<std::mutex> lock(mutex);
  auto& slot = cache[path];
  if (!slot.second || stamp.empty() || slot.first != stamp) {
    slot = {stamp, std::make_shared<const Tokenizer>(Tokenizer::load(path))};  // load() reports a missing file
  }
  return slot.second;
}

enum class Source { Sotu, Email, Moby };

// A task: which corpora, and each passage's label (-1: not in this task).
struct Recipe {
  TaskInfo info;
  std::vector<Source> sources;
  std::function<int64_t(const Passage&, const Corpora&)> label;
};

std::function<int64_t(const Passage&, const Corpora&)> president_group(int64_t group) {
  return [group](const Passage& p, const Corpora&) -> int64_t {
    const int64_t rank = p.president / kPresidentGroups;
    return p.president % kPresidentGroups == group && rank < kPresidentsPerGroup ? rank : -1;
  };
}

int64_t era(const Passage& p, const Corpora& c) { return (p.year - kFirstYear) * kEras / (c.last_year + 1 - kFirstYear); }

int64_t party(const Passage& p, const Corpora&) {
  if (p.party == "Democratic") return 0;
  if (p.party == "Republican") return 1;
  if (p.party == "Democratic-Republican") return 2;
  return 3;
}

int64_t half_century(const Passage& p, const Corpora&) {
  return p.year < 1850 ? 0 : p.year < 1900 ? 1 : p.year < 1950 ? 2 : p.year < 2000 ? 3 : 4;
}

int64_t spam_easy(const Passage& p, const Corpora&) {
  return p.group == "easy-ham-1" ? 0 : p.group == "spam-1" ? 1 : -1;
}

int64_t spam_hard(const Passage& p, const Corpora&) {
  return p.group == "easy-ham-2" || p.group == "hard-ham-1" ? 0 : p.group == "spam-2" ? 1 : -1;
}

int64_t spam_3way(const Passage& p, const Corpora&) {
  if (p.group == "easy-ham-1" || p.group == "easy-ham-2") return 0;
  if (p.group == "hard-ham-1") return 1;
  return 2;
}

int64_t moby_section(const Passage& p, const Corpora& c) {
  return p.position * kMobySections / static_cast<int64_t>(c.moby.size());
}

TaskInfo info(const char* name, const char* description, int64_t classes) {
  return {name, description, classes, Modality::Text};
}

// Passage counts are of the pinned npm packages (tests/data/text_task_test.cpp checks them).
const std::vector<Recipe>& recipes() {
  static const std::vector<Recipe> all = {
      {info(kTextSourceTask,
            "SOTU addresses in 40-word passages: which of 10 presidents (ranks 0,4,..,36 by first address: "
            "Washington, Monroe, Tyler, Pierce, Grant, B. Harrison, Wilson, F. D. Roosevelt, L. B. Johnson, Reagan); "
            "7,876 train / 2,017 test passages",
            10),
       {Source::Sotu}, president_group(0)},
      {info("sotu-presidents-b",
            "SOTU passages: which of presidents 1,5,..,37 (J. Adams, J. Q. Adams, Polk, Buchanan, Hayes, McKinley, "
            "Harding, Truman, Nixon, G. H. W. Bush); 7,641 train / 1,915 test",
            10),
       {Source::Sotu}, president_group(1)},
      {info("sotu-presidents-c",
            "SOTU passages: which of presidents 2,6,..,38 (Jefferson, Jackson, Taylor, Lincoln, Arthur, "
            "T. Roosevelt, Coolidge, Eisenhower, Ford, Clinton); 9,972 train / 2,433 test",
            10),
       {Source::Sotu}, president_group(2)},
      {info("sotu-presidents-d",
            "SOTU passages: which of presidents 3,7,..,39 (Madison, Van Buren, Fillmore, A. Johnson, Cleveland, Taft, "
            "Hoover, Kennedy, Carter, G. W. Bush); 8,771 train / 2,165 test",
            10),
       {Source::Sotu}, president_group(3)},
      {info("sotu-era", "SOTU passages: which tenth of 1790-2021 (eras of 23.2 years); 35,946 train / 8,932 test",
            kEras),
       {Source::Sotu}, era},
      {info("sotu-party",
            "SOTU passages: the president's party: Democratic, Republican, Democratic-Republican, other (none, "
            "Federalist, Whig, Whig & Democratic, National Union); 35,946 train / 8,932 test",
            4),
       {Source::Sotu}, party},
      {info("sotu-half-century",
            "SOTU passages: before 1850, 1850-1899, 1900-1949, 1950-1999, 2000 on; 35,946 train / 8,932 test", 5),
       {Source::Sotu}, half_century},
      {info("spam-easy",
            "SpamAssassin e-mails, first 40 body words (bodies of 10+ words): easy-ham-1 (0) or spam-1 (1); "
            "2,316 train / 595 test",
            2),
       {Source::Email}, spam_easy},
      {info("spam-hard", "SpamAssassin bodies: easy-ham-2 or hard-ham-1 (0), spam-2 (1); 2,423 train / 617 test", 2),
       {Source::Email}, spam_hard},
      {info("spam-3way", "SpamAssassin bodies, all five groups: easy ham (0), hard ham (1), spam (2); "
            "4,739 train / 1,212 test", 3),
       {Source::Email}, spam_3way},
      {info("moby-section", "Moby Dick in 40-word passages: which tenth of the book (by passage position); "
            "4,277 train / 1,026 test", kMobySections),
       {Source::Moby}, moby_section},
      {info(kPretrainTask, "unlabelled text for masked-LM pre-training (labels 0): Moby Dick and SOTU passages; "
            "40,223 train / 9,958 test", 0),
       {Source::Moby, Source::Sotu}, [](const Passage&, const Corpora&) -> int64_t { return 0; }},
  };
  return all;
}

const std::vector<Passage>& passages_of(const Corpora& c, Source s) {
  return s == Source::Sotu ? c.sotu : s == Source::Email ? c.email : c.moby;
}

struct Labelled {
  const Passage* passage;
  int64_t label;
};

// A task's passages, split, ordered and capped, before encoding.
struct Selection {
  std::vector<Labelled> train, test;
  int64_t num_classes = 0;
};

Dataset encode(const std::string& name, const std::vector<Labelled>& rows, int64_t num_classes,
               const Tokenizer& tokenizer, int64_t seq_len) {
  const auto n = static_cast<int64_t>(rows.size());
  Dataset d;
  d.name = name;
  d.num_classes = num_classes;
  d.inputs = torch::empty({n, seq_len}, torch::kInt64);
  d.labels = torch::empty({n}, torch::kInt64);
  int64_t* ids = d.inputs.data_ptr<int64_t>();
  int64_t* labels = d.labels.data_ptr<int64_t>();
  // ~40 us a passage: worth the cores for the 35,000-passage SOTU tasks.
  at::parallel_for(0, n, 256, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const std::vector<int64_t> one = tokenizer.encode_fixed(rows[i].passage->text, seq_len);
      std::copy(one.begin(), one.end(), ids + i * seq_len);
      labels[i] = rows[i].label;
    }
  });
  return d;
}

Selection select(const std::string& name, const TaskOptions& options) {
  const auto it = std::find_if(recipes().begin(), recipes().end(), [&](const Recipe& r) { return r.info.name == name; });
  MDNA_CHECK(it != recipes().end(), "unknown text task '" + name + "'");
  const Recipe& recipe = *it;
  const Corpora& c = corpora();
  Selection out;
  out.num_classes = recipe.info.num_classes;
  for (Source s : recipe.sources) {
    for (const Passage& p : passages_of(c, s)) {
      const int64_t label = recipe.label(p, c);
      if (label < 0) continue;
      (p.test ? out.test : out.train).push_back({&p, label});
    }
  }
  // Hash order mixes the classes, so a max_train cap keeps them all.
  auto by_hash = [](const Labelled& a, const Labelled& b) {
    const uint64_t ka = mix(a.passage->hash), kb = mix(b.passage->hash);
    return ka != kb ? ka < kb : a.passage->key < b.passage->key;
  };
  std::sort(out.train.begin(), out.train.end(), by_hash);
  std::sort(out.test.begin(), out.test.end(), by_hash);
  if (options.max_train > 0 && static_cast<int64_t>(out.train.size()) > options.max_train) {
    out.train.resize(static_cast<size_t>(options.max_train));
  }
  if (options.max_test > 0 && static_cast<int64_t>(out.test.size()) > options.max_test) {
    out.test.resize(static_cast<size_t>(options.max_test));
  }
  return out;
}

}  // namespace

const std::vector<TaskInfo>& infos() {
  static const std::vector<TaskInfo> out = [] {
    std::vector<TaskInfo> v;
    for (const auto& r : recipes()) v.push_back(r.info);
    return v;
  }();
  return out;
}

bool is_text_task(const std::string& name) {
  for (const auto& r : recipes())
    if (r.info.name == name) return true;
  return false;
}

TaskSplits load(const std::string& name, const TaskOptions& options) {
  MDNA_CHECK(!options.tokenizer.empty(), "text task '" + name + "' needs a tokenizer (a text zoo's tokenizer.model)");
  MDNA_CHECK(options.seq_len >= 2, "text task '" + name + "': seq_len must be at least 2, got " +
                                       std::to_string(options.seq_len));
  const auto tokenizer = tokenizer_at(options.tokenizer);
  const Selection s = select(name, options);
  return {encode(name, s.train, s.num_classes, *tokenizer, options.seq_len),
          encode(name, s.test, s.num_classes, *tokenizer, options.seq_len)};
}

SplitKeys passage_keys(const std::string& name, const TaskOptions& options) {
  const Selection s = select(name, options);
  SplitKeys keys;
  for (const auto& row : s.train) keys.train.push_back(row.passage->key);
  for (const auto& row : s.test) keys.test.push_back(row.passage->key);
  return keys;
}

std::vector<std::pair<std::string, std::string>> tokenizer_passages() {
  const Corpora& c = corpora();
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto* list : {&c.sotu, &c.email, &c.moby}) {
    for (const auto& p : *list)
      if (!p.test) out.emplace_back(p.key, p.text);
  }
  return out;
}

}  // namespace text

Tokenizer train_text_tokenizer(const TokenizerOptions& options) {
  std::vector<std::string> sentences;
  for (auto& [key, passage] : text::tokenizer_passages()) sentences.push_back(std::move(passage));
  return Tokenizer::train(sentences, options);
}

}  // namespace modeldna::data
