// The real binaries as child processes, for checks of `backflow run` from the outside:
// spawn with posix_spawn (output appended to a log file), signal, wait with a deadline.
// Also: a free loopback port, a plain HTTP GET, files and temp dirs. Waiting for another
// process (WaitFor) is the only waiting these tests do.
#pragma once

#include <arpa/inet.h>

#include "support/process.h"
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace backflow::daemon_test {

using ::backflow::testing::ChildProcess;
using ::backflow::testing::MakeTempDir;
using ::backflow::testing::ReadFile;
using ::backflow::testing::SandboxProcess;
using ::backflow::testing::SteadyClock;
using ::backflow::testing::Tail;
using ::backflow::testing::WaitFor;
using ::backflow::testing::WriteFile;
using std::chrono::milliseconds;
using std::chrono::seconds;

inline void ReplaceAll(std::string* text, const std::string& key, const std::string& value) {
  for (size_t at = text->find(key); at != std::string::npos; at = text->find(key, at + value.size()))
    text->replace(at, key.size(), value);
}

inline size_t Occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// A loopback port nobody listens on right now (bind port 0, read it back, close).
inline int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

struct HttpAnswer {
  int status = 0;
  std::string body;
  std::string content_type;
};

// GET http://127.0.0.1:port/path; nullopt when nothing answered.
inline std::optional<HttpAnswer> HttpGet(int port, const std::string& path) {
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(2, 0);
  c.set_read_timeout(20, 0);
  auto res = c.Get(path.c_str());
  if (!res) return std::nullopt;
  return HttpAnswer{res->status, res->body, res->get_header_value("Content-Type")};
}

// Runs a program to completion: its exit code and standard output.
struct Finished {
  std::optional<int> exit_code;
  std::string out;
};
inline Finished RunToEnd(std::vector<std::string> argv, const std::string& dir,
                         const std::string& name, milliseconds timeout = seconds(60)) {
  const std::string out_path = dir + "/" + name + ".out";
  ChildProcess p(std::move(argv), dir + "/" + name + ".log", out_path);
  Finished f;
  f.exit_code = p.Wait(timeout);
  f.out = ReadFile(out_path);
  return f;
}

}  // namespace backflow::daemon_test
