#include "modeldna/registry/fingerprinter.h"

#include "modeldna/io/open_store.h"

namespace modeldna::registry {

Fingerprint StoreFingerprinter::fingerprint(const std::string& path) { return fingerprint_store(io::open_store(path)); }

void StoreFingerprinter::judge_on_outputs(Registry&, const Fingerprint& query, const FindOptions&, FindResult& result) {
  result.notes.push_back(query.outputs ? kOutputsNeedARunnerNote : kQueryCannotRunNote);
}

}  // namespace modeldna::registry
