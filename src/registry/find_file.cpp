#include "modeldna/registry/find_file.h"

#include <chrono>

namespace modeldna::registry {
namespace {

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

FindResult find_fingerprint(Registry& registry, const Fingerprint& query, const FindOptions& options,
                            Fingerprinter& fingerprinter) {
  auto result = registry.find(query, options);
  if (result.tested == 0) fingerprinter.judge_on_outputs(registry, query, options, result);
  return result;
}

FindResult find_file(Registry& registry, const std::string& path, const FindOptions& options, Fingerprinter& fingerprinter) {
  const auto start = std::chrono::steady_clock::now();
  const auto query = fingerprinter.fingerprint(path);
  const double fingerprint_ms = ms_since(start);
  auto result = find_fingerprint(registry, query, options, fingerprinter);
  result.timings["fingerprint_ms"] = fingerprint_ms;
  result.timings["total_ms"] = ms_since(start);
  return result;
}

}  // namespace modeldna::registry
