#include "modeldna/core/shard.h"

#include <stdexcept>

#include "modeldna/core/error.h"

namespace modeldna {

Shard parse_shard(const std::string& text, const std::string& flag) {
  const auto slash = text.find('/');
  try {
    if (slash != std::string::npos) {
      std::size_t used_i = 0, used_n = 0;
      const int64_t i = std::stoll(text.substr(0, slash), &used_i);
      const int64_t n = std::stoll(text.substr(slash + 1), &used_n);
      if (used_i == slash && used_n == text.size() - slash - 1 && n >= 1 && i >= 0 && i < n) return {i, n};
    }
  } catch (const std::logic_error&) {
  }
  throw UsageError(flag + " '" + text + "': expected I/N with 0 <= I < N");
}

}  // namespace modeldna
