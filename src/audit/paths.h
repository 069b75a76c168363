// Private to audit: one spelling of a path, so that the same file named two
// ways ("a/../b", a link) is recognised as one.
#pragma once

#include <filesystem>
#include <string>

namespace modeldna::audit::detail {

inline std::string canonical(const std::string& path) {
  std::error_code ec;
  const auto c = std::filesystem::weakly_canonical(path, ec);
  return ec ? std::filesystem::absolute(path).lexically_normal().string() : c.string();
}

}  // namespace modeldna::audit::detail
