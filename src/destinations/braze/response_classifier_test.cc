#include "destinations/braze/response_classifier.h"

#include <gtest/gtest.h>

#include "backflow/config.h"
#include "destinations/braze/braze.h"

namespace backflow {
namespace {

constexpr const char* kHost = "rest.iad-01.braze.com";

RecordBatch Batch(const SyncConfig* sync, size_t n) {
  RecordBatch b;
  b.sync = sync;
  b.fields = {"ltv"};
  for (size_t i = 0; i < n; ++i) {
    Record r;
    r.warehouse_id = "user_" + std::to_string(i);
    r.values = {FieldValue{ValueKind::kInteger, "1"}};
    b.records.push_back(std::move(r));
  }
  return b;
}

HttpResponse Answer(int status, std::string body, HttpHeaders headers = {}) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

TEST(ClassifyBrazeTrack, SuccessDeliversEveryRecordWithItsExternalId) {
  SyncConfig sync;
  for (int status : {200, 201}) {
    BatchResult r = ClassifyBrazeTrack(
        Batch(&sync, 3), Answer(status, R"({"message":"success","attributes_processed":3})"),
        kHost);
    ASSERT_EQ(r.verdict, Verdict::kSuccessful);
    ASSERT_EQ(r.records.size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(r.records[i].kind, OutcomeKind::kDelivered);
      EXPECT_EQ(r.records[i].destination_id, "user_" + std::to_string(i));
      EXPECT_FALSE(r.records[i].created) << "Braze does not say; the engine decides";
    }
  }
}

TEST(ClassifyBrazeTrack, NonFatalErrorsMapToTheirIndexes) {
  SyncConfig sync;
  BatchResult r = ClassifyBrazeTrack(Batch(&sync, 5), Answer(201, R"({
      "message":"success","attributes_processed":3,
      "errors":[{"type":"invalid value for attribute 'ltv'","input_array":"attributes","index":1},
                {"type":"invalid attribute name 'invalid_x'","input_array":"attributes","index":3},
                {"type":"also bad","input_array":"attributes","index":3},
                {"type":"event problem","input_array":"events","index":0},
                {"type":"out of range","input_array":"attributes","index":9}]})"),
                                     kHost);
  ASSERT_EQ(r.verdict, Verdict::kSuccessful);
  ASSERT_EQ(r.records.size(), 5u);
  EXPECT_EQ(r.records[0].kind, OutcomeKind::kDelivered);
  EXPECT_EQ(r.records[1].kind, OutcomeKind::kPermanent);
  EXPECT_EQ(r.records[1].reason, "invalid value for attribute 'ltv'");
  EXPECT_EQ(r.records[1].category, "BRAZE_OBJECT_ERROR");
  EXPECT_EQ(r.records[2].kind, OutcomeKind::kDelivered);
  EXPECT_EQ(r.records[3].kind, OutcomeKind::kPermanent);
  EXPECT_EQ(r.records[3].reason, "invalid attribute name 'invalid_x'; also bad");
  EXPECT_EQ(r.records[4].kind, OutcomeKind::kDelivered);
  EXPECT_EQ(r.records[4].destination_id, "user_4");
}

TEST(ClassifyBrazeTrack, UnknownUserIsSkippedOnlyInUpdateMode) {
  const char* body = R"({"message":"success","errors":[
      {"type":"user not found: '_update_existing_only' is true","input_array":"attributes","index":0},
      {"type":"invalid value for attribute 'ltv'","input_array":"attributes","index":1}]})";
  SyncConfig update;
  update.mode = SyncMode::kUpdate;
  BatchResult r = ClassifyBrazeTrack(Batch(&update, 3), Answer(201, body), kHost);
  ASSERT_EQ(r.records.size(), 3u);
  EXPECT_EQ(r.records[0].kind, OutcomeKind::kSkipped);
  EXPECT_EQ(r.records[1].kind, OutcomeKind::kPermanent);
  EXPECT_EQ(r.records[2].kind, OutcomeKind::kDelivered);

  SyncConfig upsert;
  r = ClassifyBrazeTrack(Batch(&upsert, 3), Answer(201, body), kHost);
  EXPECT_EQ(r.records[0].kind, OutcomeKind::kPermanent);

  EXPECT_TRUE(BrazeErrorMeansUnknownUser("User does not exist"));
  EXPECT_TRUE(BrazeErrorMeansUnknownUser("Unknown user external_id"));
  EXPECT_FALSE(BrazeErrorMeansUnknownUser("invalid attribute name 'x'"));
}

TEST(ClassifyBrazeTrack, OversizedRequestIsAFatalBug) {
  SyncConfig sync;
  BatchResult r = ClassifyBrazeTrack(
      Batch(&sync, 2), Answer(400, R"({"message":"Max Input Length Exceeded"})"), kHost);
  EXPECT_EQ(r.verdict, Verdict::kFatal);
  EXPECT_EQ(r.status.code(), StatusCode::kInternal);
  EXPECT_EQ(r.status.message(), "backflow built a Braze request over the 75-object limit: a bug");
}

TEST(ClassifyBrazeTrack, OtherBadRequestsSplitOrNameTheirRecords) {
  SyncConfig sync;
  BatchResult r =
      ClassifyBrazeTrack(Batch(&sync, 4), Answer(400, R"({"message":"Invalid JSON"})"), kHost);
  EXPECT_EQ(r.verdict, Verdict::kSplit);
  EXPECT_NE(r.reason.find("Invalid JSON"), std::string::npos);

  r = ClassifyBrazeTrack(Batch(&sync, 3), Answer(400, R"({"message":"bad","errors":[
      {"type":"bad object","input_array":"attributes","index":2}]})"),
                         kHost);
  ASSERT_EQ(r.verdict, Verdict::kSuccessful);
  EXPECT_EQ(r.records[0].kind, OutcomeKind::kRetryable) << "nothing was applied";
  EXPECT_EQ(r.records[1].kind, OutcomeKind::kRetryable);
  EXPECT_EQ(r.records[2].kind, OutcomeKind::kPermanent);
}

TEST(ClassifyBrazeTrack, RefusedKeyIsFatalAndNeverNamesTheKey) {
  SyncConfig sync;
  for (int status : {401, 403, 404}) {
    BatchResult r = ClassifyBrazeTrack(
        Batch(&sync, 1), Answer(status, R"({"message":"Invalid API Key rest-key-123"})"), kHost);
    EXPECT_EQ(r.verdict, Verdict::kFatal);
    EXPECT_EQ(r.status.code(), StatusCode::kAuthRefused);
    EXPECT_EQ(r.status.message(), "Braze refused the REST API key (HTTP " + std::to_string(status) +
                                      ") at rest.iad-01.braze.com");
    EXPECT_EQ(r.reason.find("rest-key-123"), std::string::npos);
  }
}

TEST(ClassifyBrazeTrack, RateLimitAndServerErrorsRetry) {
  SyncConfig sync;
  BatchResult r = ClassifyBrazeTrack(
      Batch(&sync, 1), Answer(429, R"({"message":"API rate limit exceeded"})"), kHost);
  EXPECT_EQ(r.verdict, Verdict::kRetry);
  EXPECT_TRUE(r.rate_limited);
  EXPECT_EQ(r.category, "RATE_LIMIT");
  EXPECT_FALSE(r.retry_after.has_value()) << "Braze sends no Retry-After";

  r = ClassifyBrazeTrack(Batch(&sync, 1), Answer(503, "upstream"), kHost);
  EXPECT_EQ(r.verdict, Verdict::kRetry);
  EXPECT_FALSE(r.rate_limited);

  HttpResponse dropped;
  dropped.error = TransportError::kTimeout;
  r = ClassifyBrazeTrack(Batch(&sync, 1), dropped, kHost);
  EXPECT_EQ(r.verdict, Verdict::kRetry);
  EXPECT_EQ(r.category, "TIMEOUT");
}

TEST(ReadBrazeRateLimit, ReadsLimitRemainingAndResetEpoch) {
  RateLimitHints h = ReadBrazeRateLimit(Answer(201, "{}",
                                               {{"x-ratelimit-limit", "3000"},
                                                {"X-RateLimit-Remaining", "2999"},
                                                {"X-RateLimit-Reset", "1767323045"}}));
  EXPECT_EQ(h.limit, 3000);
  EXPECT_EQ(h.remaining, 2999);
  ASSERT_TRUE(h.reset_at.has_value());
  EXPECT_EQ(
      std::chrono::duration_cast<std::chrono::seconds>(h.reset_at->time_since_epoch()).count(),
      1767323045);
  EXPECT_FALSE(h.retry_after.has_value());

  RateLimitHints none = ReadBrazeRateLimit(Answer(201, "{}", {{"X-RateLimit-Limit", "lots"}}));
  EXPECT_FALSE(none.limit.has_value());
  EXPECT_FALSE(none.remaining.has_value());
  EXPECT_FALSE(none.reset_at.has_value());
}

TEST(ClassifyBrazeDelete, DeletedCountDeliversEveryId) {
  const std::vector<std::string> ids = {"user_1", "user_2", "user_3"};
  // Fewer deleted than asked: the others were already gone, which is what a delete wants.
  BatchResult r =
      ClassifyBrazeDelete(ids, Answer(201, R"({"deleted":1,"message":"success"})"), kHost);
  ASSERT_EQ(r.verdict, Verdict::kSuccessful);
  ASSERT_EQ(r.records.size(), 3u);
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(r.records[i].kind, OutcomeKind::kDelivered);
    EXPECT_EQ(r.records[i].destination_id, ids[i]);
  }
  r = ClassifyBrazeDelete(ids, Answer(400, R"({"message":"Max Input Length Exceeded"})"), kHost);
  EXPECT_EQ(r.verdict, Verdict::kFatal);
  EXPECT_EQ(r.status.message(), "backflow built a Braze request over the 50-id limit: a bug");
  r = ClassifyBrazeDelete(ids, Answer(401, "{}"), kHost);
  EXPECT_EQ(r.status.code(), StatusCode::kAuthRefused);
}

TEST(HostOf, StripsSchemeAndPath) {
  EXPECT_EQ(HostOf("https://rest.fra-01.braze.eu"), "rest.fra-01.braze.eu");
  EXPECT_EQ(HostOf("http://127.0.0.1:8080/x"), "127.0.0.1:8080");
}

}  // namespace
}  // namespace backflow
