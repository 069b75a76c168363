// File: modeldna/core/shard.h
// One worker's share of a batch (`registry add --shard`, `audit --shard`):
// of a list every process enumerates the same way, worker I of N takes the
// items at positions k with k % N == I, so N workers together take each
// item exactly once without talking to each other.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace modeldna {

struct Shard {
  int64_t index = 0, count = 1;
  bool takes(std::size_t position) const { return static_cast<int64_t>(position % static_cast<std::size_t>(count)) == index; }
};

/// "I/N" with 0 <= I < N; UsageError naming `flag` otherwise.
Shard parse_shard(const std::string& text, const std::string& flag = "--shard");

}  // namespace modeldna
