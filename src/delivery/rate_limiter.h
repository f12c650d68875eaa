// RateLimiter: a destination's request budget, shared by every sync that targets it.
//
// Semantics (spec section 2): at most `requests` sends in ANY rolling window of `per`.
// This is a sliding log of the last `requests` send times, not a steadily refilling token
// bucket (which lets up to 2x through a rolling window). Send i may leave only once
// send[i - limit] + per has passed.
//
// `burst` (optional) caps how many leave at once: a GCRA (virtual-scheduling token bucket)
// of capacity `burst` refilling at limit/per sits in front of the window. With the burst
// used up, sends are spaced per/limit apart. Without `burst` only the window applies.
//
// Adaptation from response headers (Observe):
//   remaining == 0      -> when our own sends fill the server's window (`limit` of them
//                          inside it), nobody sends until the oldest of them ages out
//                          (exact: a reset in whole seconds would idle part of the budget);
//                          else until reset_at, or else until the oldest send in the
//                          (rolling) window ages out.
//   limit < configured  -> the effective limit drops to it (never rises above configured).
//   retry_after         -> nobody sends until then.
//   a 429               -> multiplicative decrease of the effective limit, then additive
//                          increase (2% of configured, at least 1, per window without a
//                          429), so a hidden lower real limit is converged on.
//   daily_used/daily_limit past `quota_share` -> paused (for kQuotaPause, then one probe).
//
// Reserve() does not sleep: it books the earliest allowed send time and returns how long
// the caller must wait before sending. Thread-safe.
#pragma once

#include <deque>
#include <mutex>
#include <optional>
#include <string>

#include "backflow/clock.h"
#include "backflow/config.h"
#include "backflow/destination.h"

namespace backflow {

class RateLimiter {
 public:
  // How long a daily quota past its share pauses the destination before one probe.
  static constexpr Millis kQuotaPause{60LL * 60 * 1000};
  // Multiplicative decrease after a 429.
  static constexpr double kDecrease = 0.7;

  // `config.requests <= 0` means unlimited (only header waits and pauses apply).
  // REQUIRES: clock outlives the limiter; 0 < quota_share <= 1.
  RateLimiter(const RateLimitConfig& config, Clock* clock, double quota_share = 1.0);

  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Books one send at the earliest time the budget allows and returns the wait until it
  // (zero when it may leave now). The caller must send after waiting exactly that long.
  [[nodiscard]] Millis Reserve();
  // As Reserve(), and tells the booked send time, for Sent().
  [[nodiscard]] Millis Reserve(SteadyTime* booked);
  // The send booked at `booked` is leaving now; returns the time it is logged at (for
  // Answered). A sender that woke late (a busy machine) would otherwise leave the window
  // counting from a time earlier than the real send, and the send a window later could
  // reach the server inside the same window (a 429).
  SteadyTime Sent(SteadyTime booked);
  // The send logged at `sent` ended now. The window counts from now: a request that took
  // longer to reach the server than one sent a window later (it waited on a connection,
  // or on a busy server) can then no longer put both inside one of the server's windows.
  // `server_answered`: an HTTP answer came back, so the server counted the request
  // before now, and the window from now needs no guard for arrival jitter. Without one
  // (a transport error) the guard stays: the request may still have reached the server.
  void Answered(SteadyTime sent, bool server_answered = true);

  // Adapts to what a response said. `rate_limited`: the response was a 429 (or the
  // destination's equivalent). `sent`: when the answered request was logged as sent (what
  // Sent returned). The server counted it, and reported on its window, no earlier: our
  // sends that window can hold are those logged since sent - window (each is logged at
  // its answer, after the server counted it). Unset: now.
  void Observe(const RateLimitHints& hints, bool rate_limited,
               std::optional<SteadyTime> sent = std::nullopt);

  // Nobody sends before now + d (a Retry-After).
  void BlockFor(Millis d);
  // Stops sending until `until` (a pause verdict or a quota past its share).
  void PauseUntil(SteadyTime until, std::string reason);

  bool paused() const;
  std::string pause_reason() const;
  // The limit per `per` currently applied (after header and 429 adaptation).
  long long effective_limit() const;

 private:
  long long EffectiveLimitLocked(SteadyTime now) const;
  // A logged send: when its window starts, and whether that is known to be no earlier
  // than when the server counted it (answered: no arrival guard).
  struct Send {
    SteadyTime at;
    bool exact = false;
  };
  // When the send `s` (a window ago) no longer counts against a send at that time.
  SteadyTime LeavesWindow(const Send& s, SteadyTime::duration window) const;
  // Moves the logged send `from` to `to` (later), keeping the log ascending; false when
  // `from` is not in the log.
  bool MoveLocked(SteadyTime from, SteadyTime to, bool exact);
  void RecoverLocked(SteadyTime now);

  mutable std::mutex mu_;
  Clock* const clock_;
  const long long configured_;
  const SteadyTime::duration per_;
  const long long burst_;  // 0: no burst cap
  const double quota_share_;

  // Booked sends, ascending: the newest configured_, and any still inside the window.
  std::deque<Send> sends_;
  SteadyTime tat_{};              // GCRA theoretical arrival time
  SteadyTime blocked_until_{};
  SteadyTime paused_until_{};
  std::string pause_reason_;
  long long header_limit_;        // from the last limit header, <= configured_
  double aimd_limit_;             // after 429s, <= configured_
  SteadyTime last_adjust_{};      // last decrease or increase of aimd_limit_
};

}  // namespace backflow
