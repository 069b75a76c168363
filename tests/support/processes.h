// Test support: real processes and a real PostgreSQL server, for the tests
// of what several modeldna processes do at once (registry add, audit).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace modeldna::testing {

/// A child process running `program` with `args`, stdout and stderr into `log`.
pid_t spawn(const std::string& program, const std::vector<std::string>& args, const std::string& log);
/// Its exit code once it ends (-1: killed by a signal).
int wait_exit_code(pid_t pid);
/// A whole file's text ("" when absent).
std::string slurp(const std::string& path);

/// A throw-away PostgreSQL cluster in a temporary folder, on a loopback
/// port, started by the constructor and stopped by the destructor.
class PostgresServer {
 public:
  PostgresServer();
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;
  bool installed() const { return !bin_.empty(); }  // Debian's postgresql package
  bool started() const { return started_; }
  std::string url() const;
  std::string logs() const;

 private:
  bool sh(const std::string& command) const;
  std::string bin_, dir_, as_user_;
  int port_ = 0;
  bool started_ = false;
};

}  // namespace modeldna::testing
