// Telemetry: one typed event per thing that happens (vector style). Each implementation
// writes the log line and bumps the metric; callers never format log lines themselves.
// Implementations are thread-safe. The default methods do nothing.
#pragma once

#include <chrono>
#include <string>

#include "backflow/clock.h"

namespace backflow {

class Telemetry {
 public:
  virtual ~Telemetry() = default;
  // A request reached an answer (code = HTTP status, 0 for a transport error).
  virtual void ApiRequest(const std::string& destination, int code,
                          std::chrono::microseconds latency) {}
  // A request waited for the rate limiter.
  virtual void RateLimitWait(const std::string& destination, Millis waited) {}
  // A request is retried after `backoff`; `attempt` counts from 1.
  virtual void Retry(const std::string& destination, const std::string& category, int attempt,
                     Millis backoff) {}
  // A destination stopped taking requests (quota), or resumed.
  virtual void Paused(const std::string& destination, const std::string& reason) {}
  // Rows delivered/failed/... for a sync, as they are confirmed.
  virtual void Rows(const std::string& sync, const std::string& destination,
                    const std::string& outcome, long long count) {}

  // A Telemetry that does nothing.
  static Telemetry* Null();
};

}  // namespace backflow
