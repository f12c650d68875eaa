// The real binaries as child processes, for checks of `backflow run` from the outside:
// spawn with posix_spawn (output appended to a log file), signal, wait with a deadline.
// Also: a free loopback port, a plain HTTP GET, files and temp dirs. Waiting for another
// process (WaitFor) is the only waiting these tests do.
#pragma once

#include <arpa/inet.h>
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

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Polls `done` until it holds or `timeout` passes.
inline bool WaitFor(const std::function<bool()>& done, milliseconds timeout,
                    milliseconds every = milliseconds(50)) {
  const auto deadline = SteadyClock::now() + timeout;
  while (true) {
    if (done()) return true;
    if (SteadyClock::now() >= deadline) return false;
    std::this_thread::sleep_for(every);
  }
}

inline std::string MakeTempDir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  const char* dir = mkdtemp(buf.data());
  return dir ? std::string(dir) : std::string();
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Written whole to a temp name, then renamed: a reader never sees half a file.
inline void WriteFile(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << text;
  }
  std::rename(tmp.c_str(), path.c_str());
}

inline std::string Tail(const std::string& text, size_t chars = 4000) {
  return text.size() <= chars ? text : "..." + text.substr(text.size() - chars);
}

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

class ChildProcess {
 public:
  // argv[0] is the program's path. Standard output goes to `stdout_path`, standard
  // error to `log_path` (both appended; the same file when stdout_path is empty).
  ChildProcess(std::vector<std::string> argv, std::string log_path,
               const std::string& stdout_path = "")
      : log_path_(std::move(log_path)) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const int flags = O_WRONLY | O_CREAT | O_APPEND;
    posix_spawn_file_actions_addopen(&actions, 2, log_path_.c_str(), flags, 0644);
    if (stdout_path.empty())
      posix_spawn_file_actions_adddup2(&actions, 2, 1);
    else
      posix_spawn_file_actions_addopen(&actions, 1, stdout_path.c_str(), flags, 0644);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    if (posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~ChildProcess() {
    if (Running()) {
      Signal(SIGKILL);
      Wait(seconds(10));
    }
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool started() const { return pid_ > 0; }
  std::string Log() const { return ReadFile(log_path_); }
  bool LogContains(const std::string& text) const { return Log().find(text) != std::string::npos; }

  void Signal(int sig) {
    if (pid_ > 0 && !status_) ::kill(pid_, sig);
  }
  bool Running() {
    Reap();
    return pid_ > 0 && !status_;
  }
  // The exit code (128 + signal when killed by one), or nullopt if still running.
  std::optional<int> Wait(milliseconds timeout) {
    WaitFor([this] { return !Running(); }, timeout, milliseconds(10));
    return status_;
  }

 private:
  void Reap() {
    if (pid_ <= 0 || status_) return;
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      if (WIFEXITED(st)) status_ = WEXITSTATUS(st);
      else if (WIFSIGNALED(st)) status_ = 128 + WTERMSIG(st);
      else status_ = -1;
    }
  }
  std::string log_path_;
  pid_t pid_ = -1;
  std::optional<int> status_;
};

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

// backflow-sandbox in its own process, on an ephemeral port (--port-file).
class SandboxProcess {
 public:
  explicit SandboxProcess(const std::string& dir) {
    const std::string port_file = dir + "/sandbox.port";
    process_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{BACKFLOW_BINARY_DIR "/backflow-sandbox", "--listen",
                                 "127.0.0.1:0", "--port-file", port_file, "--seed", "7"},
        dir + "/sandbox.log");
    WaitFor([&] {
      const std::string text = ReadFile(port_file);
      if (text.empty() || text.back() != '\n') return false;
      port_ = std::stoi(text);
      return true;
    }, seconds(20));
  }
  ~SandboxProcess() {
    process_->Signal(SIGTERM);
    process_->Wait(seconds(10));
  }
  bool ready() const { return port_ > 0; }
  int port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  ChildProcess& process() { return *process_; }

  // POST /_admin/<emulator>/faults with a FaultSpec as JSON text.
  [[nodiscard]] bool SetFaults(const std::string& emulator, const std::string& spec) const {
    httplib::Client c("127.0.0.1", port_);
    auto res = c.Post(("/_admin/" + emulator + "/faults").c_str(), spec, "application/json");
    return res && res->status == 200;
  }
  // GET /_admin/<emulator>/records: the emulator's stored records as JSON text.
  std::string Records(const std::string& emulator) const {
    auto a = HttpGet(port_, "/_admin/" + emulator + "/records");
    return a && a->status == 200 ? a->body : std::string();
  }

 private:
  std::unique_ptr<ChildProcess> process_;
  int port_ = 0;
};

}  // namespace backflow::daemon_test
