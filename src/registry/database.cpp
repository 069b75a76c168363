#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "database_common.h"
#include "modeldna/core/error.h"

namespace modeldna::registry {

std::vector<StoredModel> in_order(const std::vector<int64_t>& ids, std::map<int64_t, StoredModel>& found) {
  std::vector<StoredModel> out;
  out.reserve(found.size());
  for (int64_t id : ids)
    if (auto it = found.find(id); it != found.end()) out.push_back(std::move(it->second)), found.erase(it);
  return out;
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

std::vector<float> floats_from(const std::string& bytes, const std::string& where) {
  const std::size_t vector_bytes = kAnchorDims * sizeof(float);
  if (bytes.size() % vector_bytes != 0)
    throw FormatError(where, "registry anchors of " + std::to_string(bytes.size()) + " bytes are not whole vectors");
  std::vector<float> out(bytes.size() / sizeof(float));
  std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

std::unique_ptr<Database> open_database(const std::string& location) {
  MDNA_CHECK(!location.empty(), "no registry named (an empty location)");
  if (location.rfind("postgresql://", 0) == 0 || location.rfind("postgres://", 0) == 0) return open_postgres_database(location);
  return open_sqlite_database(location);
}

std::string default_registry_location() {
  if (const char* env = std::getenv("MODELDNA_REGISTRY"); env && *env) return env;
  std::filesystem::path base;
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) base = xdg;
  else if (const char* home = std::getenv("HOME"); home && *home) base = std::filesystem::path(home) / ".local" / "share";
  else throw UsageError("no registry named: give its location or set MODELDNA_REGISTRY (HOME is not set)");
  std::filesystem::create_directories(base / "modeldna");
  return (base / "modeldna" / "registry.sqlite").string();
}

}  // namespace modeldna::registry
