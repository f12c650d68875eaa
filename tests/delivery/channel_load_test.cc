// DestinationChannel under load: the in-flight cap with real threads, and convergence on
// a real limit lower than the configured one.
#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <mutex>

#include "delivery/channel.h"
#include "fakes.h"

namespace backflow {
namespace {

using testing::AcceptAll;
using testing::FakeDestination;
using testing::FakeTransport;
using testing::MakeBatch;
using testing::MakeConfig;
using testing::Respond;

// Holds every Send until the test opens the gate, counting how many are inside at once.
class Gate {
 public:
  HttpResponse Pass(const HttpRequest& request) {
    std::unique_lock<std::mutex> lock(mu_);
    ++inside_;
    max_inside_ = std::max(max_inside_, inside_);
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
    --inside_;
    return AcceptAll(request);
  }
  void WaitForInside(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return inside_ >= n; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  int max_inside() {
    std::lock_guard<std::mutex> lock(mu_);
    return max_inside_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int inside_ = 0;
  int max_inside_ = 0;
  bool open_ = false;
};

TEST(ChannelLoadTest, ConcurrencyCapIsHonoured) {
  ManualClock clock;
  Gate gate;
  FakeTransport transport(&clock, [&](const HttpRequest& r) { return gate.Pass(r); });
  FakeDestination destination;
  DestinationConfig config = MakeConfig(0, Millis(1000), /*max_concurrency=*/3);
  auto random = Random::Seeded(1);
  DestinationChannel channel(config, &destination, &transport, &clock, random.get(),
                             Telemetry::Null());

  std::vector<std::future<DeliveryResult>> futures;
  for (int i = 0; i < 12; ++i) futures.push_back(channel.Submit(MakeBatch(2, i * 2)));
  // A direct caller shares the same cap.
  std::thread direct([&] { EXPECT_TRUE(channel.Deliver(MakeBatch(1, 100)).status.ok()); });
  gate.WaitForInside(3);
  gate.Open();
  for (auto& f : futures) {
    DeliveryResult r = f.get();
    EXPECT_TRUE(r.status.ok());
    EXPECT_EQ(r.outcomes[1].kind, OutcomeKind::kDelivered);
  }
  direct.join();
  EXPECT_EQ(gate.max_inside(), 3);
  EXPECT_EQ(transport.sent().size(), 13u);
}

// Accepts at most `limit` requests in any rolling `window`, answering 429 above it.
class HiddenLimitServer {
 public:
  HiddenLimitServer(Clock* clock, size_t limit, Millis window)
      : clock_(clock), limit_(limit), window_(window) {}
  HttpResponse Handle(const HttpRequest& request) {
    const SteadyTime now = clock_->Now();
    while (!accepted_.empty() && now - accepted_.front() >= window_) accepted_.pop_front();
    if (accepted_.size() >= limit_) {
      ++rejected_;
      return Respond(429);
    }
    accepted_.push_back(now);
    return AcceptAll(request);
  }
  int rejected() const { return rejected_; }

 private:
  Clock* clock_;
  size_t limit_;
  Millis window_;
  std::deque<SteadyTime> accepted_;
  int rejected_ = 0;
};

TEST(ChannelLoadTest, ConvergesOnAHiddenLowerLimitWithBounded429s) {
  ManualClock clock;
  HiddenLimitServer server(&clock, 60, Millis(1000));
  FakeTransport transport(&clock, [&](const HttpRequest& r) { return server.Handle(r); });
  FakeDestination destination;
  DestinationConfig config = MakeConfig(100, Millis(1000));
  auto random = Random::Seeded(9);
  DestinationChannel channel(config, &destination, &transport, &clock, random.get(),
                             Telemetry::Null());

  const int n = 3000;
  const SteadyTime start = clock.Now();
  for (int i = 0; i < n; ++i) {
    DeliveryResult r = channel.Deliver(MakeBatch(1, i));
    ASSERT_EQ(r.outcomes[0].kind, OutcomeKind::kDelivered) << "record " << i;
  }
  const double seconds = std::chrono::duration<double>(clock.Now() - start).count();
  // A 429 only when probing above the real limit: a handful per run, not one per window.
  EXPECT_LE(server.rejected(), 20);
  // And the real limit is still mostly used: at least 70% of 60/s.
  EXPECT_GE(n / seconds, 0.7 * 60);
}

}  // namespace
}  // namespace backflow
