// DestinationChannel: the send loop's verdict handling, with a fake destination,
// a scripted transport and a ManualClock (no sleeping).
#include "delivery/channel.h"

#include <gtest/gtest.h>

#include <atomic>

#include "fakes.h"

namespace backflow {
namespace {

using testing::AcceptAll;
using testing::FakeDestination;
using testing::FakeTransport;
using testing::IdsOf;
using testing::MakeBatch;
using testing::MakeConfig;
using testing::Respond;

struct Rig {
  explicit Rig(FakeTransport::Handler handler, DestinationConfig c = MakeConfig(1000, Millis(1000)),
               double quota_share = 1.0)
      : config(std::move(c)),
        random(Random::Seeded(3)),
        destination(quota_share),
        transport(&clock, std::move(handler)),
        channel(config, &destination, &transport, &clock, random.get(), Telemetry::Null()) {}

  ManualClock clock;
  DestinationConfig config;
  std::unique_ptr<Random> random;
  FakeDestination destination;
  FakeTransport transport;
  DestinationChannel channel;
};

int CountKind(const DeliveryResult& r, OutcomeKind kind) {
  int n = 0;
  for (const auto& o : r.outcomes) n += o.kind == kind;
  return n;
}

TEST(ChannelTest, DeliversABatchInOneRequest) {
  Rig rig(AcceptAll);
  DeliveryResult r = rig.channel.Deliver(MakeBatch(10));
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  ASSERT_EQ(r.outcomes.size(), 10u);
  EXPECT_EQ(CountKind(r, OutcomeKind::kDelivered), 10) << r.outcomes[0].category << " " << r.outcomes[0].reason;
  EXPECT_EQ(r.outcomes[3].destination_id, "D3");
  EXPECT_TRUE(r.outcomes[3].created);
  EXPECT_EQ(r.api_requests, 1);
}

TEST(ChannelTest, SendsKeepToTheRollingWindow) {
  DestinationConfig config = MakeConfig(10, Millis(1000));
  Rig rig(AcceptAll, config);
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(rig.channel.Deliver(MakeBatch(1, i)).status.ok());
  auto sent = rig.transport.sent();
  ASSERT_EQ(sent.size(), 60u);
  for (size_t i = 10; i < sent.size(); ++i)
    ASSERT_GE(sent[i].at - sent[i - 10].at, Millis(1000)) << "send " << i;
  EXPECT_LT(sent.back().at - sent.front().at, Millis(6000));  // and uses the budget
}

TEST(ChannelTest, RetryAfterIsHonoured) {
  int calls = 0;
  Rig rig([&](const HttpRequest& req) {
    if (++calls == 1) return Respond(503, "", {{"Retry-After", "30"}});
    return AcceptAll(req);
  });
  DeliveryResult r = rig.channel.Deliver(MakeBatch(2));
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(CountKind(r, OutcomeKind::kDelivered), 2);
  auto sent = rig.transport.sent();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_GE(sent[1].at - sent[0].at, Millis(30000));
  EXPECT_EQ(r.api_requests, 2);
}

TEST(ChannelTest, RateLimitedRetriesDoNotUseUpAttempts) {
  int calls = 0;
  DestinationConfig config = MakeConfig(1000, Millis(1000));
  config.retry.max_attempts = 3;
  Rig rig([&](const HttpRequest& req) {
    if (++calls <= 5) return Respond(429);
    return AcceptAll(req);
  }, config);
  DeliveryResult r = rig.channel.Deliver(MakeBatch(3));
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(CountKind(r, OutcomeKind::kDelivered), 3);
  EXPECT_EQ(r.api_requests, 6);
}

TEST(ChannelTest, ServerErrorsExhaustAttemptsIntoRetryableOutcomes) {
  DestinationConfig config = MakeConfig(1000, Millis(1000));
  config.retry.max_attempts = 3;
  Rig rig([](const HttpRequest&) { return Respond(503); }, config);
  DeliveryResult r = rig.channel.Deliver(MakeBatch(4));
  EXPECT_TRUE(r.status.ok());  // the run goes on; the rows go to the retry queue
  EXPECT_EQ(r.api_requests, 3);
  ASSERT_EQ(CountKind(r, OutcomeKind::kRetryable), 4);
  EXPECT_EQ(r.outcomes[0].category, "HTTP_503");
  // Backoff waited between attempts, within the jitter caps (100 ms, 200 ms).
  auto sent = rig.transport.sent();
  EXPECT_LE(sent[2].at - sent[0].at, Millis(300));
}

TEST(ChannelTest, SplitIsolatesExactlyTheBadRecords) {
  Rig rig([](const HttpRequest& req) {
    for (const auto& id : IdsOf(req))
      if (id == "17" || id == "64") return Respond(400, "duplicate id " + id);
    return AcceptAll(req);
  });
  DeliveryResult r = rig.channel.Deliver(MakeBatch(100));
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(CountKind(r, OutcomeKind::kDelivered), 98);
  EXPECT_EQ(CountKind(r, OutcomeKind::kPermanent), 2);
  EXPECT_EQ(r.outcomes[17].kind, OutcomeKind::kPermanent);
  EXPECT_EQ(r.outcomes[64].kind, OutcomeKind::kPermanent);
  EXPECT_EQ(r.outcomes[17].reason, "duplicate id 17");
  EXPECT_EQ(r.outcomes[16].destination_id, "D16");
  EXPECT_EQ(r.outcomes[65].destination_id, "D65");
  EXPECT_LE(r.api_requests, 2 * 2 * 7 + 1);  // two paths down a tree of depth 7
}

TEST(ChannelTest, ReauthenticatesOnceThenSucceeds) {
  int tokens = 0;
  Rig rig([&](const HttpRequest& req) {
    if (req.url == "http://fake/token") return Respond(200, "s" + std::to_string(++tokens));
    if (*FindHeader(req.headers, "Authorization") == "Bearer s1") return Respond(401);
    return AcceptAll(req);
  });
  rig.destination.uses_auth = true;
  DeliveryResult r = rig.channel.Deliver(MakeBatch(5));
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(CountKind(r, OutcomeKind::kDelivered), 5);
  EXPECT_EQ(rig.transport.SentTo("/token").size(), 2u);
  EXPECT_EQ(r.api_requests, 2);  // auth is not counted
  // The session is kept: the next batch authenticates no more.
  ASSERT_TRUE(rig.channel.Deliver(MakeBatch(5)).status.ok());
  EXPECT_EQ(rig.transport.SentTo("/token").size(), 2u);
}

TEST(ChannelTest, ASessionRefusedAfterReauthenticationFails) {
  Rig rig([](const HttpRequest& req) {
    if (req.url == "http://fake/token") return Respond(200, "s");
    return Respond(401);
  });
  rig.destination.uses_auth = true;
  DeliveryResult r = rig.channel.Deliver(MakeBatch(3));
  EXPECT_EQ(r.status.code(), StatusCode::kAuthRefused);
  EXPECT_EQ(rig.transport.SentTo("/token").size(), 2u);
  EXPECT_EQ(rig.transport.SentTo("/upsert").size(), 2u);
  EXPECT_EQ(CountKind(r, OutcomeKind::kRetryable), 3);
  EXPECT_EQ(r.outcomes[0].category, "NOT_SENT");
}

TEST(ChannelTest, RefusedAuthStopsBeforeAnyWrite) {
  Rig rig([](const HttpRequest& req) {
    if (req.url == "http://fake/token") return Respond(400, "invalid_client");
    return AcceptAll(req);
  });
  rig.destination.uses_auth = true;
  DeliveryResult r = rig.channel.Deliver(MakeBatch(3));
  EXPECT_EQ(r.status.code(), StatusCode::kAuthRefused);
  EXPECT_EQ(r.api_requests, 0);
  EXPECT_TRUE(rig.transport.SentTo("/upsert").empty());
  ASSERT_EQ(r.outcomes.size(), 3u);
  for (const auto& o : r.outcomes) {
    EXPECT_EQ(o.kind, OutcomeKind::kRetryable);
    EXPECT_EQ(o.category, "NOT_SENT");
  }
  EXPECT_EQ(r.status.message().find("hunter2"), std::string::npos);
}

TEST(ChannelTest, PauseStopsTheDestination) {
  Rig rig([](const HttpRequest&) { return Respond(403); });
  DeliveryResult r = rig.channel.Deliver(MakeBatch(3));
  EXPECT_EQ(r.status.code(), StatusCode::kUnavailable);
  EXPECT_TRUE(rig.channel.paused());
  EXPECT_EQ(r.outcomes[0].kind, OutcomeKind::kRetryable);
  EXPECT_EQ(r.outcomes[0].category, "PAUSED");
  DeliveryResult again = rig.channel.Deliver(MakeBatch(3));
  EXPECT_EQ(again.status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(again.api_requests, 0);
  EXPECT_EQ(again.outcomes[2].category, "PAUSED");
  EXPECT_EQ(rig.transport.sent().size(), 1u);
}

TEST(ChannelTest, DailyQuotaPastTheShareFromHeadersPauses) {
  Rig rig([](const HttpRequest& req) {
    HttpResponse r = AcceptAll(req);
    r.headers = {{"X-Daily-Used", "5001"}, {"X-Daily-Limit", "10000"}};
    return r;
  }, MakeConfig(1000, Millis(1000)), 0.5);
  DeliveryResult first = rig.channel.Deliver(MakeBatch(2));
  EXPECT_TRUE(first.status.ok());  // this one was answered: it is delivered
  EXPECT_EQ(CountKind(first, OutcomeKind::kDelivered), 2);
  EXPECT_TRUE(rig.channel.paused());
  DeliveryResult second = rig.channel.Deliver(MakeBatch(2));
  EXPECT_EQ(second.status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(rig.transport.sent().size(), 1u);
}

TEST(ChannelTest, FatalVerdictStopsWithItsStatus) {
  Rig rig([](const HttpRequest&) { return Respond(418); });
  DeliveryResult r = rig.channel.Deliver(MakeBatch(2));
  EXPECT_EQ(r.status.code(), StatusCode::kFailed);
  EXPECT_EQ(r.outcomes[1].category, "NOT_SENT");
  EXPECT_EQ(r.api_requests, 1);
}

TEST(ChannelTest, AmbiguousFailureOfANonIdempotentRequestIsNotResent) {
  Rig rig([](const HttpRequest&) {
    HttpResponse r;
    r.error = TransportError::kTimeout;
    return r;
  });
  rig.destination.idempotent = false;
  DeliveryResult r = rig.channel.Deliver(MakeBatch(2));
  EXPECT_TRUE(r.status.ok());
  EXPECT_EQ(r.api_requests, 1);
  EXPECT_EQ(CountKind(r, OutcomeKind::kRetryable), 2);
  EXPECT_EQ(r.outcomes[0].category, "TIMEOUT");
}

TEST(ChannelTest, AmbiguousFailureOfAnIdempotentRequestIsRetried) {
  int calls = 0;
  Rig rig([&](const HttpRequest& req) {
    if (++calls == 1) {
      HttpResponse r;
      r.error = TransportError::kDropped;
      return r;
    }
    return AcceptAll(req);
  });
  DeliveryResult r = rig.channel.Deliver(MakeBatch(2));
  EXPECT_EQ(CountKind(r, OutcomeKind::kDelivered), 2);
  EXPECT_EQ(r.api_requests, 2);
}

TEST(ChannelTest, CancelDuringARetryLeavesRecordsNotSent) {
  Rig* rig_ptr = nullptr;
  Rig rig([&](const HttpRequest&) {
    rig_ptr->channel.Cancel();  // SIGTERM arrives while the request is in flight
    return Respond(503);
  });
  rig_ptr = &rig;
  DeliveryResult r = rig.channel.Deliver(MakeBatch(4));
  EXPECT_EQ(r.status.code(), StatusCode::kCancelled);
  EXPECT_EQ(r.api_requests, 1);
  for (const auto& o : r.outcomes) {
    EXPECT_EQ(o.kind, OutcomeKind::kRetryable);
    EXPECT_EQ(o.category, "NOT_SENT");
  }
  DeliveryResult after = rig.channel.Deliver(MakeBatch(4));
  EXPECT_EQ(after.status.code(), StatusCode::kCancelled);
  EXPECT_EQ(rig.transport.sent().size(), 1u);
}

TEST(ChannelTest, DeleteUsesTheSameMachinery) {
  int calls = 0;
  Rig rig([&](const HttpRequest& req) {
    EXPECT_EQ(req.method, "DELETE");
    if (++calls == 1) return Respond(500);
    return AcceptAll(req);
  });
  SyncConfig sync;
  DeliveryResult r = rig.channel.Delete(sync, {"a", "b"});
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(CountKind(r, OutcomeKind::kDelivered), 2);
  EXPECT_EQ(r.api_requests, 2);
}

TEST(ChannelTest, OversizedBatchIsSentInChunksOfTheApiMaximum) {
  Rig rig(AcceptAll);
  SyncConfig sync;
  RecordBatch batch = MakeBatch(250);
  batch.sync = &sync;
  DeliveryResult r = rig.channel.Deliver(batch);
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(CountKind(r, OutcomeKind::kDelivered), 250);
  EXPECT_EQ(r.api_requests, 3);
  EXPECT_EQ(r.outcomes[249].destination_id, "D249");
}

}  // namespace
}  // namespace backflow
