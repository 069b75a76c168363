// Where datasets are read from and where decoded copies are cached.
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

#include "modeldna/core/error.h"
#include "modeldna/data/image_set.h"

#ifndef MODELDNA_DEFAULT_DATA_DIR
#error "MODELDNA_DEFAULT_DATA_DIR must be set by src/data/CMakeLists.txt"
#endif

namespace modeldna::data {
namespace {

// An unset and an empty variable mean the same: "use the default".
const char* env_or_null(const char* name) {
  const char* value = std::getenv(name);
  return value && *value ? value : nullptr;
}

}  // namespace

std::string data_dir() {
  if (const char* dir = env_or_null("MODELDNA_DATA_DIR")) return dir;
  return MODELDNA_DEFAULT_DATA_DIR;
}

std::string cache_dir() {
  namespace fs = std::filesystem;
  fs::path dir;
  if (const char* env = env_or_null("MODELDNA_CACHE_DIR")) {
    dir = env;
  } else if (const char* xdg = env_or_null("XDG_CACHE_HOME")) {
    dir = fs::path(xdg) / "modeldna";
  } else if (const char* home = env_or_null("HOME")) {
    dir = fs::path(home) / ".cache" / "modeldna";
  } else {
    throw UsageError("no cache folder: set MODELDNA_CACHE_DIR, XDG_CACHE_HOME or HOME");
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw FormatError(dir.string(), "cannot create cache folder: " + ec.message());
  return dir.string();
}

}  // namespace modeldna::data
