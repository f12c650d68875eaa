// Clock and Random: the outside world's time and chance, injected.
//
// Everything that waits (rate limiting, backoff, polling, scheduling) asks a Clock, so
// tests drive time with ManualClock instead of sleeping. Implementations are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>

namespace backflow {

using SteadyTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;
using Millis = std::chrono::milliseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time, for intervals and deadlines.
  virtual SteadyTime Now() const = 0;
  // Wall-clock time, for records a person reads (sync_runs.started_at, ...).
  virtual WallTime WallNow() const = 0;
  // Blocks the calling thread for `d` (ManualClock: advances time and returns at once).
  virtual void SleepFor(std::chrono::nanoseconds d) = 0;

  // The process-wide real clock.
  static Clock* Real();
};

// A clock that moves only when told to: SleepFor(d) and Advance(d) add d to both times.
class ManualClock final : public Clock {
 public:
  ManualClock();
  // Wall time starts at `wall_start` (tests against Postgres pass the real now()).
  explicit ManualClock(WallTime wall_start);
  SteadyTime Now() const override;
  WallTime WallNow() const override;
  void SleepFor(std::chrono::nanoseconds d) override;
  void Advance(std::chrono::nanoseconds d);
  // Total time spent in SleepFor since construction (what a test asserts waits with).
  std::chrono::nanoseconds slept() const;

 private:
  mutable std::mutex mu_;
  SteadyTime steady_;
  WallTime wall_;
  std::chrono::nanoseconds slept_{0};
};

// A source of randomness for jitter and sampling of faults. Thread-safe.
class Random {
 public:
  virtual ~Random() = default;
  virtual uint64_t Next() = 0;
  // Uniform in [0, 1).
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  // A seeded, repeatable generator (splitmix64).
  static std::unique_ptr<Random> Seeded(uint64_t seed);
};

}  // namespace backflow
