// Real processes for tests that drive the binaries from the outside (tests/daemon,
// tests/resilience): spawn with posix_spawn (output appended to a log file), signal, wait
// with a deadline; the sandbox as a process with its admin API; files and temp dirs.
// Waiting for another process (WaitFor) is the only waiting these helpers do.
#pragma once

#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace backflow::testing {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Polls `done` until it holds or `timeout` passes.
inline bool WaitFor(const std::function<bool()>& done, milliseconds timeout,
                    milliseconds every = milliseconds(10)) {
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
  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
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

// backflow-sandbox in its own process, on an ephemeral port (--port-file), with its
// admin API: records, counters, faults.
class SandboxProcess {
 public:
  explicit SandboxProcess(const std::string& dir, uint64_t seed = 7) {
    const std::string port_file = dir + "/sandbox.port";
    process_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{BACKFLOW_BINARY_DIR "/backflow-sandbox", "--listen",
                                 "127.0.0.1:0", "--port-file", port_file, "--seed",
                                 std::to_string(seed)},
        dir + "/sandbox.log");
    WaitFor([&] {
      std::string text = ReadFile(port_file);
      if (text.empty() || text.back() != '\n') return false;
      port_ = std::stoi(text);
      return true;
    }, std::chrono::seconds(20));
  }
  ~SandboxProcess() {
    process_->Signal(SIGTERM);
    process_->Wait(std::chrono::seconds(10));
  }

  bool ready() const { return port_ > 0; }
  int port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  ChildProcess& process() { return *process_; }

  nlohmann::json Get(const std::string& path) const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(30, 0);
    auto res = c.Get(path.c_str());
    if (!res || res->status != 200) return nlohmann::json();
    return nlohmann::json::parse(res->body, nullptr, false);
  }
  bool Post(const std::string& path, const nlohmann::json& body) const {
    httplib::Client c("127.0.0.1", port_);
    auto res = c.Post(path.c_str(), body.dump(), "application/json");
    return res && res->status == 200;
  }
  nlohmann::json Records(const std::string& emulator) const {
    return Get("/_admin/" + emulator + "/records");
  }
  long long Writes(const std::string& emulator) const {
    nlohmann::json c = Get("/_admin/" + emulator + "/counters");
    return c.is_object() ? c.value("writes", 0LL) : -1;
  }
  bool SetFaults(const std::string& emulator, const nlohmann::json& spec) const {
    return Post("/_admin/" + emulator + "/faults", spec);
  }

 private:
  std::unique_ptr<ChildProcess> process_;
  int port_ = 0;
};

}  // namespace backflow::testing
