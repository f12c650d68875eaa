#include "delivery/backoff.h"

#include <algorithm>
#include <cmath>

namespace backflow {

Millis Backoff::Cap(int attempt) const {
  const long long initial = std::max<long long>(config_.initial_backoff.count(), 0);
  const long long max = std::max<long long>(config_.max_backoff.count(), 0);
  // 2^62 overflows long long times anything; past 2^40 the cap is max_backoff anyway.
  const int shift = std::clamp(attempt - 1, 0, 40);
  const long double grown = static_cast<long double>(initial) * std::ldexp(1.0L, shift);
  return Millis(static_cast<long long>(std::min<long double>(grown, max)));
}

Millis Backoff::Delay(int attempt, std::optional<Millis> retry_after) const {
  const Millis cap = Cap(attempt);
  // uniform over [0, cap], both ends included.
  const auto jitter = static_cast<long long>(random_->Uniform() * static_cast<double>(cap.count() + 1));
  Millis delay(std::min<long long>(jitter, cap.count()));
  if (retry_after && *retry_after > delay) delay = *retry_after;
  return delay;
}

}  // namespace backflow
