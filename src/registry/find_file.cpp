#include "modeldna/registry/find_file.h"

#include "modeldna/core/stopwatch.h"

namespace modeldna::registry {

FindResult find_fingerprint(Registry& registry, const Fingerprint& query, const FindOptions& options,
                            Fingerprinter& fingerprinter) {
  auto result = registry.find(query, options);
  if (result.tested == 0) fingerprinter.judge_on_outputs(registry, query, options, result);
  return result;
}

FindResult find_file(Registry& registry, const std::string& path, const FindOptions& options, Fingerprinter& fingerprinter) {
  const auto start = Clock::now();
  const auto query = fingerprinter.fingerprint(path);
  const double fingerprint_ms = ms_since(start);
  auto result = find_fingerprint(registry, query, options, fingerprinter);
  result.timings["fingerprint_ms"] = fingerprint_ms;
  result.timings["total_ms"] = ms_since(start);
  return result;
}

}  // namespace modeldna::registry
