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
using ::backflow::testing::SandboxProcess;


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
