// Real processes for the crash and multi-daemon checks: the backflow binary and the
// backflow-sandbox binary, spawned with posix_spawn, their output in a log file, killed
// with real signals. The sandbox runs in a process of its own so what it stored survives
// whatever happens to backflow; tests read it through its /_admin/ API.
#pragma once

#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
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

namespace backflow::resilience {

using SteadyClock = std::chrono::steady_clock;

// Polls `done` until it holds or `timeout` passes: waiting for another process, the
// only waiting these tests do.
inline bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout,
                    std::chrono::milliseconds every = std::chrono::milliseconds(5)) {
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
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

inline std::string Tail(const std::string& text, size_t chars = 3000) {
  return text.size() <= chars ? text : "..." + text.substr(text.size() - chars);
}

class ChildProcess {
 public:
  // argv[0] is the program. Standard output and error append to `log_path`.
  ChildProcess(std::vector<std::string> argv, std::string log_path)
      : argv_(std::move(argv)), log_path_(std::move(log_path)) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::vector<char*> args;
    for (auto& a : argv_) args.push_back(a.data());
    args.push_back(nullptr);
    if (posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~ChildProcess() {
    if (Running()) {
      Signal(SIGKILL);
      Wait(std::chrono::seconds(10));
    }
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  std::string Log() const { return ReadFile(log_path_); }

  void Signal(int sig) {
    if (pid_ > 0 && !status_) kill(pid_, sig);
  }
  bool Running() {
    Reap();
    return pid_ > 0 && !status_;
  }
  // The exit code (128 + signal when killed by one), or nullopt when still running
  // after `timeout`.
  std::optional<int> Wait(std::chrono::milliseconds timeout) {
    WaitFor([this] { return !Running(); }, timeout, std::chrono::milliseconds(10));
    return status_;
  }

 private:
  void Reap() {
    if (pid_ <= 0 || status_) return;
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      if (WIFEXITED(st)) status_ = WEXITSTATUS(st);
      else if (WIFSIGNALED(st)) status_ = 128 + WTERMSIG(st);
      else status_ = -1;
    }
  }
  std::vector<std::string> argv_;
  std::string log_path_;
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// backflow-sandbox in its own process, on an ephemeral port.
class SandboxProcess {
 public:
  SandboxProcess(const std::string& dir, uint64_t seed) {
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

// `backflow --config CONFIG ARGS...`.
inline std::unique_ptr<ChildProcess> StartBackflow(const std::string& config,
                                                   std::vector<std::string> args,
                                                   const std::string& log_path) {
  std::vector<std::string> argv{BACKFLOW_BINARY_DIR "/backflow", "--config", config};
  for (auto& a : args) argv.push_back(std::move(a));
  return std::make_unique<ChildProcess>(std::move(argv), log_path);
}

// The YAML with ${DSN} and ${SANDBOX} replaced by their values.
inline std::string Substitute(std::string yaml, const std::string& dsn,
                              const std::string& sandbox) {
  for (const auto& [key, value] : {std::pair<std::string, std::string>{"${DSN}", dsn},
                                   {"${SANDBOX}", sandbox}}) {
    for (size_t at = yaml.find(key); at != std::string::npos; at = yaml.find(key, at))
      yaml.replace(at, key.size(), value);
  }
  return yaml;
}

}  // namespace backflow::resilience
