#include "delivery/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace backflow {
namespace {

using Nanos = SteadyTime::duration;

Millis CeilMillis(Nanos d) {
  if (d.count() <= 0) return Millis(0);
  return std::chrono::ceil<Millis>(d);
}

// The server counts arrivals, not sends: two requests sent exactly a window apart can
// arrive closer together (one waited longer on its connection), and that is a 429. A
// guard of 1% of the window (at least 20 ms) absorbs that jitter for a send whose answer
// has not come back. An answered send is logged at its answer, which the server's count
// of it preceded: a send a window after that arrives a window after it, with no guard.
Nanos ArrivalGuard(Nanos window) {
  return std::max<Nanos>(window / 100, std::chrono::milliseconds(20));
}

}  // namespace

SteadyTime RateLimiter::LeavesWindow(const Send& s, SteadyTime::duration window) const {
  return s.at + window + (s.exact ? Nanos(0) : ArrivalGuard(window));
}

RateLimiter::RateLimiter(const RateLimitConfig& config, Clock* clock, double quota_share)
    : clock_(clock),
      configured_(std::max<long long>(config.requests, 0)),
      per_(std::chrono::duration_cast<Nanos>(config.per)),
      burst_(config.burst && *config.burst > 0 ? *config.burst : 0),
      quota_share_(quota_share > 0 && quota_share <= 1.0 ? quota_share : 1.0),
      header_limit_(configured_),
      aimd_limit_(static_cast<double>(configured_)) {
  last_adjust_ = clock_->Now();
}

long long RateLimiter::EffectiveLimitLocked(SteadyTime now) const {
  if (configured_ == 0) return 0;
  double aimd = aimd_limit_;
  if (aimd < configured_ && per_.count() > 0 && now > last_adjust_) {
    const double step = std::max(1.0, std::floor(configured_ * 0.02));
    const auto windows = (now - last_adjust_) / per_;
    aimd = std::min<double>(configured_, aimd + static_cast<double>(windows) * step);
  }
  return std::max<long long>(1, std::min<long long>(header_limit_, std::llround(std::floor(aimd))));
}

void RateLimiter::RecoverLocked(SteadyTime now) {
  if (configured_ == 0 || per_.count() <= 0) return;
  if (aimd_limit_ >= configured_) {
    last_adjust_ = now;
    return;
  }
  const auto windows = (now - last_adjust_) / per_;
  if (windows <= 0) return;
  const double step = std::max(1.0, std::floor(configured_ * 0.02));
  aimd_limit_ = std::min<double>(configured_, aimd_limit_ + static_cast<double>(windows) * step);
  last_adjust_ += windows * per_;
}

Millis RateLimiter::Reserve() {
  SteadyTime booked;
  return Reserve(&booked);
}

bool RateLimiter::MoveLocked(SteadyTime from, SteadyTime to, bool exact) {
  // The entry is among the newest: search from the end, then let it sink into place.
  // Sent and Answered move a send not yet answered: an answered one is never moved again.
  for (size_t i = sends_.size(); i-- > 0;) {
    if (sends_[i].at != from || sends_[i].exact) continue;
    sends_[i] = Send{to, exact};
    for (size_t j = i; j + 1 < sends_.size() && sends_[j + 1].at < sends_[j].at; ++j)
      std::swap(sends_[j], sends_[j + 1]);
    return true;
  }
  return false;
}

SteadyTime RateLimiter::Sent(SteadyTime booked) {
  std::lock_guard<std::mutex> lock(mu_);
  const SteadyTime now = clock_->Now();
  if (now <= booked) return booked;
  return MoveLocked(booked, now, false) ? now : booked;
}

void RateLimiter::Answered(SteadyTime sent, bool server_answered) {
  std::lock_guard<std::mutex> lock(mu_);
  const SteadyTime now = clock_->Now();
  if (now > sent || server_answered) MoveLocked(sent, std::max(now, sent), server_answered);
}

Millis RateLimiter::Reserve(SteadyTime* booked) {
  std::lock_guard<std::mutex> lock(mu_);
  const SteadyTime now = clock_->Now();
  SteadyTime t = std::max(now, blocked_until_);
  *booked = t;
  if (configured_ == 0) return CeilMillis(t - now);

  RecoverLocked(now);
  const long long limit = EffectiveLimitLocked(now);
  const auto size = static_cast<long long>(sends_.size());
  if (size >= limit)
    t = std::max(t, LeavesWindow(sends_[static_cast<size_t>(size - limit)], per_));

  const Nanos interval = per_ / limit;
  if (burst_ > 0) t = std::max(t, tat_ - interval * static_cast<Nanos::rep>(burst_ - 1));

  // Whole milliseconds: the caller waits exactly the returned value, so the booked time
  // is the real send time and the window constraints (lower bounds) still hold.
  const Millis wait = CeilMillis(t - now);
  t = now + wait;
  if (burst_ > 0) tat_ = std::max(tat_, t) + interval;
  sends_.push_back(Send{t, false});
  // The log needs the newest `configured_` sends, and (for Observe) every send still
  // inside the window: bookings ahead of now must not push those out.
  const SteadyTime aged = now - per_ - ArrivalGuard(per_);
  while (static_cast<long long>(sends_.size()) > configured_ && sends_.front().at <= aged)
    sends_.pop_front();
  *booked = t;
  return wait;
}

void RateLimiter::Observe(const RateLimitHints& hints, bool rate_limited,
                          std::optional<SteadyTime> sent) {
  std::lock_guard<std::mutex> lock(mu_);
  const SteadyTime now = clock_->Now();
  RecoverLocked(now);

  if (hints.retry_after && hints.retry_after->count() > 0)
    blocked_until_ = std::max(blocked_until_, now + *hints.retry_after);

  if (hints.remaining && *hints.remaining <= 0) {
    const Nanos window = hints.window ? Nanos(*hints.window) : per_;
    // Our sends already made (logged at or before now), and the first of them the
    // server's window can still have held when it counted the answered request (at the
    // earliest when that was sent: a send logged at its answer is logged after the
    // server counted it, and within a window of our answered request's send).
    const auto before = [](SteadyTime t, const Send& s) { return t < s.at; };
    const auto made = std::upper_bound(sends_.begin(), sends_.end(), now, before);
    const SteadyTime counted = sent ? std::min(*sent, now) : now;
    const auto inside = std::upper_bound(sends_.begin(), made, counted - window, before);
    const long long full = hints.limit && *hints.limit > 0 ? *hints.limit
                                                           : EffectiveLimitLocked(now);
    SteadyTime until;
    if (full > 0 && made - inside >= full) {
      // Our own sends fill the window: the server frees a slot when the oldest of the
      // newest `full` of them ages out (a logged time is never before the server counted
      // that send). Exact, where a reset rounded up to whole seconds (Braze's) would idle
      // up to a second of every window's budget.
      until = LeavesWindow(*(made - full), window);
    } else {
      // Someone else shares the budget, or our log does not reach back that far: the
      // server's reset says when; without one the window is rolling, and it frees a slot
      // when the oldest send still inside it ages out (or a whole window from now if we
      // sent none of them).
      until = inside != made ? inside->at + window : now + window;
      if (hints.reset_at) {
        const auto left = *hints.reset_at - clock_->WallNow();
        until = now + std::max<Nanos>(Nanos(0), std::chrono::duration_cast<Nanos>(left));
      }
    }
    blocked_until_ = std::max(blocked_until_, until);
  }

  if (hints.limit && *hints.limit > 0 && configured_ > 0) {
    long double scaled = static_cast<long double>(*hints.limit);
    if (hints.window && hints.window->count() > 0 && Nanos(*hints.window) != per_)
      scaled = scaled * per_.count() / Nanos(*hints.window).count();
    header_limit_ = std::clamp<long long>(static_cast<long long>(scaled), 1, configured_);
  }

  if (rate_limited && configured_ > 0) {
    const double base = static_cast<double>(EffectiveLimitLocked(now));
    aimd_limit_ = std::max(1.0, std::floor(base * kDecrease));
    last_adjust_ = now;
  }

  if (hints.daily_used && hints.daily_limit && *hints.daily_limit > 0 &&
      static_cast<double>(*hints.daily_used) >=
          quota_share_ * static_cast<double>(*hints.daily_limit)) {
    paused_until_ = std::max(paused_until_, now + kQuotaPause);
    pause_reason_ = "Daily API quota used past backflow's share (" +
                    std::to_string(*hints.daily_used) + " of " +
                    std::to_string(*hints.daily_limit) + ").";
  }
}

void RateLimiter::BlockFor(Millis d) {
  if (d.count() <= 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  blocked_until_ = std::max(blocked_until_, clock_->Now() + d);
}

void RateLimiter::PauseUntil(SteadyTime until, std::string reason) {
  std::lock_guard<std::mutex> lock(mu_);
  paused_until_ = std::max(paused_until_, until);
  pause_reason_ = std::move(reason);
}

bool RateLimiter::paused() const {
  std::lock_guard<std::mutex> lock(mu_);
  return clock_->Now() < paused_until_;
}

std::string RateLimiter::pause_reason() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pause_reason_;
}

long long RateLimiter::effective_limit() const {
  std::lock_guard<std::mutex> lock(mu_);
  return EffectiveLimitLocked(clock_->Now());
}

}  // namespace backflow
