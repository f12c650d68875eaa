// Sandbox::State: the per-emulator request log, counters and fault state (internal).
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "backflow/clock.h"
#include "sandbox/sandbox.h"

namespace backflow::sandbox {

struct Sandbox::State {
  struct PerEmulator {
    FaultSpec faults;
    std::unique_ptr<Random> random;
    std::deque<SteadyTime> window;  // accepted writes inside the hidden rate limit's window
    std::deque<nlohmann::json> log;
    long long requests = 0;
    long long writes = 0;
    std::map<int, long long> by_status;
  };
  static constexpr size_t kMaxLogEntries = 100000;

  Clock* clock = nullptr;
  uint64_t seed = 1;
  mutable std::mutex mu;
  std::map<std::string, PerEmulator> emulators;  // GUARDED_BY(mu)

  // REQUIRES: mu held.
  PerEmulator& For(const std::string& name) {
    PerEmulator& e = emulators[name];
    if (!e.random) e.random = Random::Seeded(seed ^ (e.faults.seed * 0x9E3779B97F4A7C15ULL));
    return e;
  }
};

}  // namespace backflow::sandbox
