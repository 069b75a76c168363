// File: modeldna/core/sha256.h
// SHA-256 (OpenSSL's, which uses the CPU's SHA extensions where present):
// the content hash of files, equal to `sha256sum`'s.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace modeldna {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, std::size_t size);
  /// The digest as 64 lowercase hex digits; the object is spent afterwards.
  std::string hex();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// The hex digest of `size` bytes.
std::string sha256_hex(const void* data, std::size_t size);

}  // namespace modeldna
