#include "test_support.h"

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace modeldna::testing {

ShellResult run_shell(const std::string& command) {
  ShellResult r;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buffer{};
  while (fgets(buffer.data(), buffer.size(), pipe)) r.output += buffer.data();
  r.status = pclose(pipe);
  return r;
}

std::string fresh_temp_dir() {
  namespace fs = std::filesystem;
  const char* root = std::getenv("MODELDNA_TEST_TMP");
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "test";
  for (char& c : name)
    if (c == '/') c = '_';
  const fs::path dir = fs::path(root ? root : fs::temp_directory_path().string()) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string npm_package(const std::string& name) {
  const char* env = std::getenv("MODELDNA_DATA_DIR");
  const std::string root = env && *env ? env : std::string(MODELDNA_SOURCE_DIR) + "/data";
  const std::string dir = root + "/npm/" + name;
  return std::filesystem::exists(dir + "/.complete") ? dir : "";
}

bool data_required() {
  const char* env = std::getenv("MODELDNA_REQUIRE_DATA");
  return env && std::string(env) == "1";
}

bool temporary_left_beside(const std::string& path) {
  const std::filesystem::path p(path);
  const std::string prefix = p.filename().string() + ".tmp";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(p.parent_path(), ec))
    if (entry.path().filename().string().rfind(prefix, 0) == 0) return true;
  return false;
}

std::vector<double> random_orthogonal(std::size_t n, std::mt19937_64& rng) {
  std::normal_distribution<double> normal;
  std::vector<double> r(n * n);
  for (double& x : r) x = normal(rng);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t p = 0; p < i; ++p) {
      double dot = 0;
      for (std::size_t j = 0; j < n; ++j) dot += r[i * n + j] * r[p * n + j];
      for (std::size_t j = 0; j < n; ++j) r[i * n + j] -= dot * r[p * n + j];
    }
    double norm = 0;
    for (std::size_t j = 0; j < n; ++j) norm += r[i * n + j] * r[i * n + j];
    for (std::size_t j = 0; j < n; ++j) r[i * n + j] /= std::sqrt(norm);
  }
  return r;
}

int64_t binomial_upper_bound(int64_t n, double alpha, double level) {
  // P(X = k) by lgamma, the tail P(X > k) = 1 - P(X <= k) accumulated.
  double below = 0;
  for (int64_t k = 0; k <= n; ++k) {
    const double log_pmf = std::lgamma(static_cast<double>(n + 1)) - std::lgamma(static_cast<double>(k + 1)) -
                           std::lgamma(static_cast<double>(n - k + 1)) + static_cast<double>(k) * std::log(alpha) +
                           static_cast<double>(n - k) * std::log1p(-alpha);
    below += std::exp(log_pmf);
    if (1 - below <= level) return k;
  }
  return n;
}

}  // namespace modeldna::testing
