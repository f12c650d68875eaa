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

#include "support/process.h"

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

using ::backflow::testing::ChildProcess;
using ::backflow::testing::MakeTempDir;
using ::backflow::testing::ReadFile;
using ::backflow::testing::SteadyClock;
using ::backflow::testing::Tail;
using ::backflow::testing::WaitFor;
using ::backflow::testing::WriteFile;


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
