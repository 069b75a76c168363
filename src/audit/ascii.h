// Private to audit: identifiers from model cards (hub ids, SPDX ids, the
// relation) compare ignoring ASCII case.
#pragma once

#include <algorithm>
#include <cctype>
#include <string>

namespace modeldna::audit::detail {

inline std::string ascii_lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace modeldna::audit::detail
