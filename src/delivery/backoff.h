// Backoff: exponential backoff with full jitter (AWS architecture blog, "Exponential
// Backoff And Jitter").
//
//   delay(attempt) = uniform(0, min(max_backoff, initial_backoff * 2^(attempt-1)))
//
// and a Retry-After the destination sent wins when it is larger. Randomness is injected,
// so tests check the bounds and the distribution. Thread-safe when the Random is.
#pragma once

#include <optional>

#include "backflow/clock.h"
#include "backflow/config.h"

namespace backflow {

class Backoff {
 public:
  // REQUIRES: random outlives the Backoff.
  Backoff(const RetryConfig& config, Random* random) : config_(config), random_(random) {}

  // The upper bound of the jitter for `attempt` (counting from 1).
  Millis Cap(int attempt) const;
  // How long to wait before retry number `attempt` (counting from 1).
  Millis Delay(int attempt, std::optional<Millis> retry_after = std::nullopt) const;

 private:
  RetryConfig config_;
  Random* random_;
};

}  // namespace backflow
