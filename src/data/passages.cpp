// Cutting texts into fixed-length word passages (text_corpus.h).
#include "modeldna/core/error.h"
#include "modeldna/data/text_corpus.h"

namespace modeldna::data {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

}  // namespace

std::vector<std::string> split_passages(const std::string& text, int64_t words) {
  MDNA_CHECK(words > 0, "split_passages: words must be positive, got " + std::to_string(words));
  std::vector<std::string> passages;
  std::string current;
  int64_t count = 0;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_space(text[i])) ++i;
    const size_t start = i;
    while (i < text.size() && !is_space(text[i])) ++i;
    if (i == start) break;
    if (count > 0) current += ' ';
    current.append(text, start, i - start);
    if (++count == words) {
      passages.push_back(std::move(current));
      current.clear();
      count = 0;
    }
  }
  // A short tail is too little text to say anything; keep it only if it is at least half a passage.
  if (count > 0 && count * 2 >= words) passages.push_back(std::move(current));
  return passages;
}

}  // namespace modeldna::data
