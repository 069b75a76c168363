#include "processes.h"

#include <arpa/inet.h>
#include <glob.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace modeldna::testing {
namespace fs = std::filesystem;

pid_t spawn(const std::string& program, const std::vector<std::string>& args, const std::string& log) {
  const pid_t pid = fork();
  if (pid == 0) {
    FILE* out = std::fopen(log.c_str(), "w");
    if (out) {
      dup2(fileno(out), 1);
      dup2(fileno(out), 2);
    }
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(program.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(program.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

int wait_exit_code(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string slurp(const std::string& path) {
  std::string out;
  if (FILE* f = std::fopen(path.c_str(), "r")) {
    char buffer[4096];
    std::size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) out.append(buffer, n);
    std::fclose(f);
  }
  return out;
}

namespace {

int free_port() {
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  close(s);
  return ntohs(a.sin_port);
}

}  // namespace

PostgresServer::PostgresServer() {
  glob_t g{};
  if (::glob("/usr/lib/postgresql/*/bin/pg_ctl", 0, nullptr, &g) == 0 && g.gl_pathc > 0)
    bin_ = fs::path(g.gl_pathv[g.gl_pathc - 1]).parent_path().string();
  globfree(&g);
  if (bin_.empty()) return;
  char pattern[] = "/tmp/modeldna-pg-XXXXXX";  // short: the socket path has a 107-byte limit
  if (!mkdtemp(pattern)) return;
  dir_ = pattern;
  // initdb refuses to run as root; the postgresql package's own user runs it then.
  if (geteuid() == 0) {
    const passwd* pw = getpwnam("postgres");
    if (!pw || chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) return;
    as_user_ = "runuser -u postgres -- ";
  }
  port_ = free_port();
  const std::string data = dir_ + "/data";
  if (!sh(bin_ + "/initdb -D " + data + " -A trust -U modeldna -E UTF8 --no-sync > " + dir_ + "/initdb.log 2>&1")) return;
  started_ = sh(bin_ + "/pg_ctl -D " + data + " -l " + dir_ + "/server.log -w -t 60 -o \"-p " + std::to_string(port_) + " -k " +
                dir_ + " -c listen_addresses=127.0.0.1 -c fsync=off\" start > " + dir_ + "/pg_ctl.log 2>&1");
}

PostgresServer::~PostgresServer() {
  if (started_) sh(bin_ + "/pg_ctl -D " + dir_ + "/data -m fast -w stop > /dev/null 2>&1");
  if (!dir_.empty()) fs::remove_all(dir_);
}

std::string PostgresServer::url() const { return "postgresql://modeldna@127.0.0.1:" + std::to_string(port_) + "/postgres"; }

std::string PostgresServer::logs() const { return slurp(dir_ + "/initdb.log") + slurp(dir_ + "/pg_ctl.log") + slurp(dir_ + "/server.log"); }

bool PostgresServer::sh(const std::string& command) const { return std::system((as_user_ + command).c_str()) == 0; }

}  // namespace modeldna::testing
