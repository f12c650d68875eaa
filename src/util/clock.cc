#include "backflow/clock.h"

#include <thread>

namespace backflow {
namespace {

class RealClock final : public Clock {
 public:
  SteadyTime Now() const override { return std::chrono::steady_clock::now(); }
  WallTime WallNow() const override { return std::chrono::system_clock::now(); }
  void SleepFor(std::chrono::nanoseconds d) override {
    if (d.count() > 0) std::this_thread::sleep_for(d);
  }
};

class SplitMix final : public Random {
 public:
  explicit SplitMix(uint64_t seed) : state_(seed) {}
  uint64_t Next() override {
    std::lock_guard<std::mutex> lock(mu_);
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  std::mutex mu_;
  uint64_t state_;
};

}  // namespace

Clock* Clock::Real() {
  static RealClock clock;
  return &clock;
}

ManualClock::ManualClock()
    : steady_(SteadyTime(std::chrono::hours(1000))),
      wall_(WallTime(std::chrono::seconds(1'800'000'000))) {}

ManualClock::ManualClock(WallTime wall_start)
    : steady_(SteadyTime(std::chrono::hours(1000))), wall_(wall_start) {}

SteadyTime ManualClock::Now() const {
  std::lock_guard<std::mutex> lock(mu_);
  return steady_;
}

WallTime ManualClock::WallNow() const {
  std::lock_guard<std::mutex> lock(mu_);
  return wall_;
}

void ManualClock::SleepFor(std::chrono::nanoseconds d) {
  if (d.count() <= 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  steady_ += std::chrono::duration_cast<SteadyTime::duration>(d);
  wall_ += std::chrono::duration_cast<WallTime::duration>(d);
  slept_ += d;
}

void ManualClock::Advance(std::chrono::nanoseconds d) {
  std::lock_guard<std::mutex> lock(mu_);
  steady_ += std::chrono::duration_cast<SteadyTime::duration>(d);
  wall_ += std::chrono::duration_cast<WallTime::duration>(d);
}

std::chrono::nanoseconds ManualClock::slept() const {
  std::lock_guard<std::mutex> lock(mu_);
  return slept_;
}

std::unique_ptr<Random> Random::Seeded(uint64_t seed) { return std::make_unique<SplitMix>(seed); }

}  // namespace backflow

#include "backflow/telemetry.h"

namespace backflow {
Telemetry* Telemetry::Null() {
  static Telemetry t;
  return &t;
}
}  // namespace backflow
