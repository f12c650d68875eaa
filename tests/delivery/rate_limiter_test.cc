#include "delivery/rate_limiter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <mutex>
#include <queue>
#include <set>
#include <thread>
#include <vector>

namespace backflow {
namespace {

using std::chrono::milliseconds;

RateLimitConfig Limit(long long requests, Millis per, std::optional<long long> burst = {}) {
  RateLimitConfig c;
  c.requests = requests;
  c.per = per;
  c.burst = burst;
  return c;
}

// Sends `n` requests as fast as the limiter allows; returns the send times.
std::vector<SteadyTime> Drive(RateLimiter& limiter, ManualClock& clock, int n) {
  std::vector<SteadyTime> times;
  for (int i = 0; i < n; ++i) {
    clock.SleepFor(limiter.Reserve());
    times.push_back(clock.Now());
  }
  return times;
}

// The most sends in any window [t, t + w).
long long MaxInWindow(const std::vector<SteadyTime>& times, SteadyTime::duration w) {
  long long best = 0;
  size_t lo = 0;
  for (size_t hi = 0; hi < times.size(); ++hi) {
    while (times[hi] - times[lo] >= w) ++lo;
    best = std::max<long long>(best, static_cast<long long>(hi - lo + 1));
  }
  return best;
}

TEST(RateLimiterTest, NeverExceedsTheLimitInAnyRollingWindow) {
  ManualClock clock;
  RateLimiter limiter(Limit(10, milliseconds(1000)), &clock);
  auto times = Drive(limiter, clock, 500);
  EXPECT_EQ(MaxInWindow(times, milliseconds(1000)), 10);
  for (size_t i = 10; i < times.size(); ++i)
    ASSERT_GE(times[i] - times[i - 10], milliseconds(1000)) << "send " << i;
}

TEST(RateLimiterTest, RollingWindowHoldsWithIrregularArrivals) {
  ManualClock clock;
  RateLimiter limiter(Limit(7, milliseconds(1000)), &clock);
  std::vector<SteadyTime> times;
  for (int i = 0; i < 300; ++i) {
    clock.Advance(milliseconds((i * 37) % 290));  // idle gaps of varying length
    clock.SleepFor(limiter.Reserve());
    times.push_back(clock.Now());
  }
  EXPECT_LE(MaxInWindow(times, milliseconds(1000)), 7);
}

// Senders that wake late (a busy machine) report when they really left: the window
// counts from those times, so no window of real sends holds more than the limit.
TEST(RateLimiterTest, LateSendersStillKeepEveryRealWindowWithinTheLimit) {
  auto drive = [](bool report_sends) {
    ManualClock clock;
    RateLimiter limiter(Limit(10, milliseconds(1000)), &clock);
    std::vector<SteadyTime> sent;
    for (int i = 0; i < 60; ++i) {
      SteadyTime booked;
      clock.SleepFor(limiter.Reserve(&booked));
      if (i % 7 == 3) clock.SleepFor(milliseconds(150));  // woke 150 ms late, past the guard
      if (report_sends) limiter.Sent(booked);
      sent.push_back(clock.Now());
    }
    return MaxInWindow(sent, milliseconds(1000));
  };
  EXPECT_LE(drive(true), 10);
  // Without Sent() the late sends would have let the next window open early.
  EXPECT_GT(drive(false), 10);
}

// The budget used, as the benchmark measures it (bench/scenarios.py window_occupancy):
// from the end of the first window to the last arrival, the average share of the
// `limit` places held by the arrivals of the trailing window.
double WindowOccupancy(const std::vector<SteadyTime>& arrivals, long long limit,
                       SteadyTime::duration window) {
  const SteadyTime begin = arrivals.front() + window, end = arrivals.back();
  if (end <= begin) return 0;
  double held = 0;
  for (SteadyTime a : arrivals) {
    const auto from = std::max(a, begin), to = std::min(a + window, end);
    if (to > from) held += std::chrono::duration<double>(to - from).count();
  }
  return held / (static_cast<double>(limit) * std::chrono::duration<double>(end - begin).count());
}

// The server counts a request when it gets to it, which can be long after it was sent
// (it waited on a connection, or on a busy server) while the request a window later
// arrives at once. Counting each request's window from its answer keeps every window of
// the server's arrivals within the limit.
TEST(RateLimiterTest, RequestsTheServerCountedLateStillKeepItsWindowsWithinTheLimit) {
  auto drive = [](bool report_answers) {
    ManualClock clock;
    RateLimiter limiter(Limit(10, milliseconds(1000)), &clock);
    std::vector<SteadyTime> arrivals;
    for (int i = 0; i < 80; ++i) {
      SteadyTime booked;
      clock.SleepFor(limiter.Reserve(&booked));
      const SteadyTime sent = limiter.Sent(booked);
      clock.Advance(milliseconds(i % 9 == 4 ? 300 : 1));  // on its way to the server
      arrivals.push_back(clock.Now());
      clock.Advance(milliseconds(1));  // the answer
      if (report_answers) limiter.Answered(sent);
    }
    return MaxInWindow(arrivals, milliseconds(1000));
  };
  EXPECT_LE(drive(true), 10);
  EXPECT_GT(drive(false), 10);  // from the send alone, a late arrival shares a window
}

// An answered send is logged at its answer, which the server counted it before: the send
// a window later needs no guard for arrival jitter. A send that ended without an answer
// (a transport error) may have reached the server at any moment: it keeps the guard.
TEST(RateLimiterTest, AnsweredSendsLeaveTheWindowAtTheirAnswerWithoutTheGuard) {
  for (bool answered : {true, false}) {
    ManualClock clock;
    RateLimiter limiter(Limit(20, milliseconds(1000)), &clock);
    std::vector<SteadyTime> sent;
    for (int i = 0; i < 20; ++i) {
      SteadyTime booked;
      ASSERT_EQ(limiter.Reserve(&booked), Millis(0));
      sent.push_back(limiter.Sent(booked));
    }
    clock.Advance(milliseconds(5));
    for (SteadyTime t : sent) limiter.Answered(t, answered);
    // The window counts from the answers at 5 ms: 1 s from now, plus the guard (max(1%,
    // 20 ms)) only without answers.
    EXPECT_EQ(limiter.Reserve(), answered ? Millis(1000) : Millis(1020)) << answered;
  }
}

// Eight senders, each through Reserve, Sent and Answered as the channel's are, against a
// server that counts each request when it arrives (1-5 ms after its send) and refuses one
// past `limit` in any rolling window; it answers 1 ms later. No refusal, and the server's
// window is kept full.
TEST(RateLimiterTest, EightSendersKeepTheServersWindowFullWithoutARefusal) {
  ManualClock clock;
  const long long limit = 3000;
  const auto window = milliseconds(3000);
  RateLimiter limiter(Limit(limit, window), &clock);
  enum Kind { kSend, kArrive, kAnswer };
  struct Event {
    SteadyTime at;
    Kind kind;
    int sender;
    bool operator>(const Event& o) const { return at > o.at; }
  };
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events;
  std::vector<SteadyTime> booked(8), sent(8);
  for (int s = 0; s < 8; ++s) {
    (void)limiter.Reserve(&booked[s]);
    events.push({booked[s], kSend, s});
  }
  std::deque<SteadyTime> counted;  // the server's window
  std::vector<SteadyTime> arrivals;
  int refused = 0, sends = 0;
  const int total = static_cast<int>(10 * limit);
  while (!events.empty()) {
    const Event e = events.top();
    events.pop();
    if (e.at > clock.Now()) clock.Advance(e.at - clock.Now());
    const SteadyTime now = clock.Now();
    switch (e.kind) {
      case kSend:
        sent[e.sender] = limiter.Sent(booked[e.sender]);
        events.push({now + milliseconds(1 + (sends * 7) % 5), kArrive, e.sender});
        ++sends;
        break;
      case kArrive:
        while (!counted.empty() && counted.front() <= now - window) counted.pop_front();
        if (static_cast<long long>(counted.size()) >= limit) {
          ++refused;
        } else {
          counted.push_back(now);
          arrivals.push_back(now);
        }
        events.push({now + milliseconds(1), kAnswer, e.sender});
        break;
      case kAnswer:
        limiter.Answered(sent[e.sender], true);
        if (sends + static_cast<int>(events.size()) < total) {
          (void)limiter.Reserve(&booked[e.sender]);
          events.push({booked[e.sender], kSend, e.sender});
        }
        break;
    }
  }
  EXPECT_EQ(refused, 0);
  ASSERT_EQ(static_cast<long long>(arrivals.size()), 10 * limit);
  EXPECT_LE(MaxInWindow(arrivals, window), limit);
  // Each slot is taken again a window after its answer: 2-6 ms after it left the server's
  // window. With the 30 ms arrival guard after every answered send it was 98.8%.
  EXPECT_GE(WindowOccupancy(arrivals, limit, window), 0.995);
}

TEST(RateLimiterTest, LongRunUsesAtLeast97PercentOfTheBudget) {
  ManualClock clock;
  RateLimiter limiter(Limit(50, milliseconds(1000), 5), &clock);
  const int n = 5000;
  auto times = Drive(limiter, clock, n);
  const double windows = std::chrono::duration<double>(times.back() - times.front()).count();
  const double budget = 50.0 * windows + 5;  // the first burst is free
  EXPECT_GE(n / budget, 0.97);
  EXPECT_LE(MaxInWindow(times, milliseconds(1000)), 50);
}

TEST(RateLimiterTest, WithoutBurstTheWholeWindowMayLeaveAtOnce) {
  ManualClock clock;
  RateLimiter limiter(Limit(20, milliseconds(1000)), &clock);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(limiter.Reserve(), Millis(0));
  // The 21st waits out the window plus the arrival-jitter guard (max(1%, 20 ms)).
  EXPECT_EQ(limiter.Reserve(), Millis(1020));
}

TEST(RateLimiterTest, BurstCapsHowManyLeaveAtOnce) {
  ManualClock clock;
  RateLimiter limiter(Limit(100, milliseconds(1000), 10), &clock);
  auto times = Drive(limiter, clock, 300);
  EXPECT_EQ(MaxInWindow(times, milliseconds(1)), 10);  // at the same instant
  // GCRA: in any span d, at most burst + d / (per / requests).
  EXPECT_LE(MaxInWindow(times, milliseconds(100)), 10 + 10);
  EXPECT_LE(MaxInWindow(times, milliseconds(1000)), 100);
  // Once the burst is used up, sends are spaced per / requests apart.
  for (size_t i = 11; i < 100; ++i)
    ASSERT_EQ(times[i] - times[i - 1], milliseconds(10)) << "send " << i;
}

TEST(RateLimiterTest, RemainingZeroWaitsUntilReset) {
  ManualClock clock;
  RateLimiter limiter(Limit(100, milliseconds(10000)), &clock);
  (void)limiter.Reserve();
  RateLimitHints hints;
  hints.remaining = 0;
  hints.reset_at = clock.WallNow() + std::chrono::seconds(7);
  limiter.Observe(hints, false);
  EXPECT_EQ(limiter.Reserve(), Millis(7000));
}

TEST(RateLimiterTest, RemainingZeroWithoutResetWaitsAWindow) {
  ManualClock clock;
  RateLimiter limiter(Limit(100, milliseconds(10000)), &clock);
  RateLimitHints hints;
  hints.remaining = 0;
  limiter.Observe(hints, false);
  EXPECT_EQ(limiter.Reserve(), Millis(10000));
}

TEST(RateLimiterTest, RemainingZeroWithoutResetWaitsForTheOldestSendToAgeOut) {
  ManualClock clock;
  RateLimiter limiter(Limit(100, milliseconds(10000)), &clock);
  EXPECT_EQ(limiter.Reserve(), Millis(0));
  clock.Advance(milliseconds(4000));
  EXPECT_EQ(limiter.Reserve(), Millis(0));
  RateLimitHints hints;
  hints.remaining = 0;
  limiter.Observe(hints, false);
  EXPECT_EQ(limiter.Reserve(), Millis(6000));  // the send at 0 leaves the window at 10 s
}

TEST(RateLimiterTest, RemainingZeroWithoutAConfiguredLimitWaitsForTheReset) {
  ManualClock clock;
  RateLimiter limiter(Limit(0, milliseconds(1000)), &clock);  // unlimited: no log is kept
  EXPECT_EQ(limiter.Reserve(), Millis(0));
  RateLimitHints hints;
  hints.remaining = 0;
  hints.reset_at = clock.WallNow() + milliseconds(1500);
  limiter.Observe(hints, false);
  EXPECT_EQ(limiter.Reserve(), Millis(1500));
}

// Braze's answer once a window is full: `limit` and remaining 0, resetting `reset_in`
// from now (in whole seconds, rounded up, on the real API).
RateLimitHints WindowFull(const ManualClock& clock, long long limit, Millis reset_in) {
  RateLimitHints hints;
  hints.limit = limit;
  hints.remaining = 0;
  hints.reset_at = clock.WallNow() + reset_in;
  return hints;
}

TEST(RateLimiterTest, RemainingZeroFromOurOwnSendsWaitsForTheirOldestNotTheRoundedReset) {
  ManualClock clock;
  RateLimiter limiter(Limit(3000, milliseconds(3000)), &clock);
  for (int i = 0; i < 3000; ++i) ASSERT_EQ(limiter.Reserve(), Millis(0));
  clock.Advance(milliseconds(500));
  // The answer to the 3,000th resets later than the oldest send really leaves the window.
  limiter.Observe(WindowFull(clock, 3000, Millis(3500)), false);
  // The sends at 0 leave the window at 3 s (+ the 30 ms arrival guard): 2.53 s from now.
  EXPECT_EQ(limiter.Reserve(), Millis(2530));
}

// The answer that reports the window full was read late (a busy machine): the sends the
// server still counted include some logged more than a window before that reading. They
// are ours all the same, so the wait is for the oldest of them to leave, not the reset.
TEST(RateLimiterTest, RemainingZeroReadLateStillCountsOurOwnSendsFromTheAnsweredSend) {
  for (bool with_sent : {true, false}) {
    ManualClock clock;
    RateLimiter limiter(Limit(300, milliseconds(3000)), &clock);
    // 300 sends 10 ms apart, each answered 2 ms after it left (logged at 2, 12, ...).
    for (int i = 0; i < 300; ++i) {
      SteadyTime booked;
      clock.SleepFor(limiter.Reserve(&booked));
      const SteadyTime sent = limiter.Sent(booked);
      clock.Advance(milliseconds(2));
      limiter.Answered(sent, true);
      clock.Advance(milliseconds(8));
    }
    // The 301st may leave when the first answered send is a window old: at 3,002 ms. The
    // server counts it at 3,003 (the first, counted at 1, has left): full again.
    SteadyTime booked;
    EXPECT_EQ(limiter.Reserve(&booked), Millis(2));  // at 3,000 ms
    clock.SleepFor(Millis(2));
    const SteadyTime sent = limiter.Sent(booked);
    clock.Advance(milliseconds(16));  // answered, and read 15 ms after the server counted it
    limiter.Answered(sent, true);
    // Braze's reset: the oldest counted send (at 11 ms) leaves at 3,011 ms, rounded up to
    // the next whole second.
    limiter.Observe(WindowFull(clock, 300, milliseconds(982)), false,
                    with_sent ? std::optional<SteadyTime>(sent) : std::nullopt);
    // Ours fill the window: the second send (logged at 12 ms) leaves at 3,012 ms, already
    // past. Without the answered send's time, the sends logged at 2 and 12 ms look
    // older than the server's window, and the rest do not fill it: the reset is waited.
    EXPECT_EQ(limiter.Reserve(), with_sent ? Millis(0) : Millis(982)) << with_sent;
  }
}

TEST(RateLimiterTest, RemainingZeroWithASharedBudgetWaitsForTheReset) {
  ManualClock clock;
  RateLimiter limiter(Limit(3000, milliseconds(3000)), &clock);
  for (int i = 0; i < 10; ++i) ASSERT_EQ(limiter.Reserve(), Millis(0));
  // Another client used the rest of the window: only the server knows when it frees.
  limiter.Observe(WindowFull(clock, 3000, Millis(2000)), false);
  EXPECT_EQ(limiter.Reserve(), Millis(2000));
}

// A server like Braze's /users/track: at most `limit` arrivals in any rolling window,
// answering each with the remaining count and the reset in whole epoch seconds. Eight
// senders each hold a booked send, as the channel's do: the next bookings (in the future)
// are made before the answers of the current window's last sends are read.
TEST(RateLimiterTest, BrazeLikeHeadersStillLetEightSendersUseAtLeast97PercentOfTheBudget) {
  ManualClock clock;
  const long long limit = 3000;
  const auto window = milliseconds(3000);
  RateLimiter limiter(Limit(limit, window), &clock);
  std::deque<SteadyTime> counted;  // the server's window
  std::vector<SteadyTime> times;
  std::multiset<SteadyTime> booked;
  int refused = 0;
  for (int i = 0; i < 30000; ++i) {
    while (booked.size() < 8) booked.insert(clock.Now() + limiter.Reserve());
    const SteadyTime at = *booked.begin();
    booked.erase(booked.begin());
    if (at > clock.Now()) clock.Advance(at - clock.Now());
    const SteadyTime now = clock.Now();
    while (!counted.empty() && counted.front() <= now - window) counted.pop_front();
    RateLimitHints hints;
    hints.limit = limit;
    const bool too_many = static_cast<long long>(counted.size()) >= limit;
    if (too_many) {
      ++refused;
    } else {
      counted.push_back(now);
      times.push_back(now);
    }
    hints.remaining = limit - static_cast<long long>(counted.size());
    const auto reset_wall = clock.WallNow() + (counted.front() + window - now);
    hints.reset_at = std::chrono::ceil<std::chrono::seconds>(reset_wall);
    limiter.Observe(hints, too_many);
  }
  EXPECT_EQ(refused, 0);
  EXPECT_LE(MaxInWindow(times, window), limit);
  // An ideal client sends `limit` at once, then `limit` per window.
  const double windows = std::chrono::duration<double>(times.back() - times.front()) / window;
  const double share = static_cast<double>(times.size() - limit) / (windows * limit);
  EXPECT_GE(share, 0.97) << "windows " << windows;
}

TEST(RateLimiterTest, SmallerHeaderLimitIsHonouredButNeverRaisedAboveConfigured) {
  ManualClock clock;
  RateLimiter limiter(Limit(100, milliseconds(1000)), &clock);
  RateLimitHints smaller;
  smaller.limit = 10;
  limiter.Observe(smaller, false);
  EXPECT_EQ(limiter.effective_limit(), 10);
  auto times = Drive(limiter, clock, 100);
  EXPECT_LE(MaxInWindow(times, milliseconds(1000)), 10);

  RateLimitHints larger;
  larger.limit = 1000;
  limiter.Observe(larger, false);
  EXPECT_EQ(limiter.effective_limit(), 100);

  RateLimitHints other_window;  // 20 per 2 s is 10 per our 1 s
  other_window.limit = 20;
  other_window.window = Millis(2000);
  limiter.Observe(other_window, false);
  EXPECT_EQ(limiter.effective_limit(), 10);
}

TEST(RateLimiterTest, RetryAfterBlocksEveryone) {
  ManualClock clock;
  RateLimiter limiter(Limit(100, milliseconds(1000)), &clock);
  RateLimitHints hints;
  hints.retry_after = Millis(30000);
  limiter.Observe(hints, true);
  EXPECT_EQ(limiter.Reserve(), Millis(30000));
  limiter.BlockFor(Millis(45000));
  EXPECT_EQ(limiter.Reserve(), Millis(45000));
}

TEST(RateLimiterTest, RateLimitedDecreasesThenRecoversAdditively) {
  ManualClock clock;
  RateLimiter limiter(Limit(100, milliseconds(1000)), &clock);
  limiter.Observe({}, true);
  EXPECT_EQ(limiter.effective_limit(), 70);
  limiter.Observe({}, true);
  EXPECT_EQ(limiter.effective_limit(), 49);
  clock.Advance(milliseconds(1000));
  EXPECT_EQ(limiter.effective_limit(), 51);  // +2% of configured per window
  clock.Advance(milliseconds(100000));
  EXPECT_EQ(limiter.effective_limit(), 100);  // never above configured
}

TEST(RateLimiterTest, DailyQuotaPastShareBlocks) {
  ManualClock clock;
  RateLimiter limiter(Limit(100, milliseconds(1000)), &clock, 0.5);
  RateLimitHints hints;
  hints.daily_used = 499;
  hints.daily_limit = 1000;
  limiter.Observe(hints, false);
  EXPECT_FALSE(limiter.paused());
  hints.daily_used = 500;
  limiter.Observe(hints, false);
  EXPECT_TRUE(limiter.paused());
  EXPECT_NE(limiter.pause_reason().find("500 of 1000"), std::string::npos);
  clock.Advance(RateLimiter::kQuotaPause);
  EXPECT_FALSE(limiter.paused());
}

TEST(RateLimiterTest, ReserveIsThreadSafe) {
  ManualClock clock;
  RateLimiter limiter(Limit(5, milliseconds(1000)), &clock);
  std::vector<std::thread> threads;
  std::mutex mu;
  std::vector<SteadyTime> booked;
  const SteadyTime start = clock.Now();
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        Millis wait = limiter.Reserve();
        std::lock_guard<std::mutex> lock(mu);
        booked.push_back(start + wait);  // the clock does not move: waits are absolute
      }
    });
  }
  for (auto& t : threads) t.join();
  std::sort(booked.begin(), booked.end());
  ASSERT_EQ(booked.size(), 100u);
  EXPECT_LE(MaxInWindow(booked, milliseconds(1000)), 5);
}

}  // namespace
}  // namespace backflow
