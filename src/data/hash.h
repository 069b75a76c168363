// Private to src/data: portable hashes (the same on every machine and build),
// so that pseudo-random splits and orders are fixed by the data alone.
#pragma once

#include <cstdint>
#include <string_view>

namespace modeldna::data {

/// splitmix64's finaliser: a well-mixed 64-bit function of a 64-bit value.
inline uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/// FNV-1a over the bytes, then mix(): a stable hash of a string key.
inline uint64_t hash_key(std::string_view key) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : key) h = (h ^ c) * 0x100000001b3ull;
  return mix(h);
}

}  // namespace modeldna::data
