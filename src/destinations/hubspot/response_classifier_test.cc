#include "destinations/hubspot/response_classifier.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "destinations/hubspot/test_util.h"

namespace backflow::hubspot {
namespace {

using nlohmann::json;
using testing::Batch;
using testing::ContactsSync;

HttpResponse Answer(int status, const json& body, HttpHeaders headers = {}) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump();
  r.headers = std::move(headers);
  return r;
}

json Result(const std::string& hs_id, const std::string& warehouse_id, bool created) {
  return {{"id", hs_id}, {"new", created},
          {"properties", {{"hs_object_id", hs_id}, {"warehouse_id", warehouse_id}}},
          {"createdAt", "2026-01-01T00:00:00Z"}, {"updatedAt", "2026-01-01T00:00:00Z"},
          {"archived", false}};
}

TEST(HubSpotClassifier, CompleteMapsResultsById) {
  SyncConfig sync = ContactsSync();
  RecordBatch batch = Batch(sync, 3);
  // Out of order, as HubSpot may answer.
  json body = {{"status", "COMPLETE"},
               {"results", {Result("1003", "user_3", true), Result("1001", "user_1", false),
                            Result("1002", "user_2", true)}}};
  BatchResult r = ClassifyBatchWrite(batch, Answer(200, body));
  ASSERT_EQ(r.verdict, Verdict::kSuccessful);
  ASSERT_EQ(r.records.size(), 3u);
  EXPECT_EQ(r.records[0].kind, OutcomeKind::kDelivered);
  EXPECT_EQ(r.records[0].destination_id, "1001");
  EXPECT_FALSE(r.records[0].created);
  EXPECT_EQ(r.records[1].destination_id, "1002");
  EXPECT_TRUE(r.records[1].created);
  EXPECT_EQ(r.records[2].destination_id, "1003");
}

TEST(HubSpotClassifier, MultiStatusMixesDeliveredPermanentAndMissing) {
  SyncConfig sync = ContactsSync();
  RecordBatch batch = Batch(sync, 3);
  json body = {{"status", "COMPLETE"},
               {"results", {Result("1001", "user_1", true)}},
               {"numErrors", 1},
               {"errors", {{{"status", "error"}, {"category", "VALIDATION_ERROR"},
                            {"message", "Property values were not valid"},
                            {"context", {{"ids", {"user_2"}}}}}}}};
  BatchResult r = ClassifyBatchWrite(batch, Answer(207, body));
  ASSERT_EQ(r.verdict, Verdict::kSuccessful);
  EXPECT_EQ(r.records[0].kind, OutcomeKind::kDelivered);
  EXPECT_EQ(r.records[1].kind, OutcomeKind::kPermanent);
  EXPECT_EQ(r.records[1].category, "VALIDATION_ERROR");
  EXPECT_EQ(r.records[1].reason, "Property values were not valid");
  EXPECT_EQ(r.records[2].kind, OutcomeKind::kRetryable);
  EXPECT_EQ(r.records[2].category, "MISSING_FROM_RESPONSE");
}

TEST(HubSpotClassifier, EmailIdPropertyMatchesCaseInsensitively) {
  SyncConfig sync = ContactsSync();
  sync.id_property = "email";
  RecordBatch batch = Batch(sync, 1);
  batch.records[0].warehouse_id = "Ann@Example.com";
  json res = {{"id", "7"}, {"new", true}, {"properties", {{"email", "ann@example.com"}}}};
  BatchResult r = ClassifyBatchWrite(batch, Answer(200, {{"results", {res}}}));
  ASSERT_EQ(r.verdict, Verdict::kSuccessful);
  EXPECT_EQ(r.records[0].kind, OutcomeKind::kDelivered);
  EXPECT_EQ(r.records[0].destination_id, "7");
}

TEST(HubSpotClassifier, WholeBatchRefusalSplits) {
  SyncConfig sync = ContactsSync();
  RecordBatch batch = Batch(sync, 4);
  json body = {{"status", "error"}, {"category", "VALIDATION_ERROR"},
               {"message", "Duplicate IDs found in batch input"}, {"correlationId", "x"}};
  BatchResult r = ClassifyBatchWrite(batch, Answer(400, body));
  EXPECT_EQ(r.verdict, Verdict::kSplit);
  EXPECT_EQ(r.category, "VALIDATION_ERROR");
  EXPECT_NE(r.reason.find("Duplicate IDs"), std::string::npos);
}

TEST(HubSpotClassifier, UnauthorizedIsFatal) {
  SyncConfig sync = ContactsSync();
  RecordBatch batch = Batch(sync, 1);
  BatchResult r = ClassifyBatchWrite(
      batch, Answer(401, {{"status", "error"}, {"category", "INVALID_AUTHENTICATION"}}));
  EXPECT_EQ(r.verdict, Verdict::kFatal);
  EXPECT_EQ(r.status.code(), StatusCode::kAuthRefused);
  EXPECT_EQ(r.reason, "HubSpot refused the private app token (401 INVALID_AUTHENTICATION)");
}

TEST(HubSpotClassifier, TenSecondlyLimitRetriesDailyPauses) {
  SyncConfig sync = ContactsSync();
  RecordBatch batch = Batch(sync, 1);
  BatchResult ten = ClassifyBatchWrite(
      batch, Answer(429, {{"status", "error"}, {"errorType", "RATE_LIMIT"},
                          {"policyName", "TEN_SECONDLY_ROLLING"}}));
  EXPECT_EQ(ten.verdict, Verdict::kRetry);
  EXPECT_TRUE(ten.rate_limited);
  EXPECT_EQ(ten.category, "RATE_LIMIT");

  BatchResult daily = ClassifyBatchWrite(
      batch, Answer(429, {{"status", "error"}, {"errorType", "RATE_LIMIT"}, {"policyName", "DAILY"}}));
  EXPECT_EQ(daily.verdict, Verdict::kPause);
  EXPECT_EQ(daily.reason, "HubSpot daily limit reached");
}

TEST(HubSpotClassifier, ServerErrorsAndTransportAreRetried) {
  SyncConfig sync = ContactsSync();
  RecordBatch batch = Batch(sync, 1);
  EXPECT_EQ(ClassifyBatchWrite(batch, Answer(503, "oops")).verdict, Verdict::kRetry);
  HttpResponse dropped;
  dropped.error = TransportError::kDropped;
  BatchResult r = ClassifyBatchWrite(batch, dropped);
  EXPECT_EQ(r.verdict, Verdict::kRetry);
  EXPECT_EQ(r.category, "CONNECTION_DROPPED");
}

TEST(HubSpotClassifier, MalformedBodiesNeverCrash) {
  SyncConfig sync = ContactsSync();
  RecordBatch batch = Batch(sync, 2);
  for (const std::string& body :
       {std::string("not json"), std::string("[]"), std::string("{\"results\":5}"),
        std::string("{\"results\":[1,\"x\",{\"id\":[]}],\"errors\":[3,{\"context\":7}]}"),
        std::string("{\"results\":[{\"properties\":{\"warehouse_id\":{}}}]}")}) {
    for (int status : {200, 207, 400, 401, 429, 500}) {
      HttpResponse res;
      res.status = status;
      res.body = body;
      BatchResult r = ClassifyBatchWrite(batch, res);
      if (r.verdict == Verdict::kSuccessful) {
        ASSERT_EQ(r.records.size(), 2u);
        for (const RecordOutcome& o : r.records) EXPECT_NE(o.kind, OutcomeKind::kDelivered);
      }
    }
  }
  HttpResponse empty;
  empty.status = 200;
  EXPECT_EQ(ClassifyBatchWrite(batch, empty).verdict, Verdict::kRetry);
}

TEST(HubSpotClassifier, UpdateMapsByHsIdAndSkipsMissingObjects) {
  SyncConfig sync = ContactsSync(SyncMode::kUpdate);
  RecordBatch batch = Batch(sync, 2);
  batch.records[0].destination_id = "1001";
  batch.records[1].destination_id = "1002";
  json body = {{"results", {{{"id", "1001"}, {"properties", json::object()}}}},
               {"errors", {{{"category", "OBJECT_NOT_FOUND"}, {"message", "gone"},
                            {"context", {{"ids", {"1002"}}}}}}}};
  BatchResult r = ClassifyBatchWrite(batch, Answer(207, body));
  ASSERT_EQ(r.verdict, Verdict::kSuccessful);
  EXPECT_EQ(r.records[0].kind, OutcomeKind::kDelivered);
  EXPECT_EQ(r.records[0].destination_id, "1001");
  EXPECT_EQ(r.records[1].kind, OutcomeKind::kSkipped);
}

TEST(HubSpotRateLimit, ReadsHeaders) {
  HttpResponse res;
  res.status = 200;
  res.headers = {{"x-hubspot-ratelimit-max", "100"},
                 {"X-HubSpot-RateLimit-Remaining", "97"},
                 {"X-HubSpot-RateLimit-Interval-Milliseconds", "10000"},
                 {"X-HubSpot-RateLimit-Daily", "250000"},
                 {"X-HubSpot-RateLimit-Daily-Remaining", "249000"}};
  RateLimitHints h = ReadRateLimitHeaders(res);
  EXPECT_EQ(h.limit, 100);
  EXPECT_EQ(h.remaining, 97);
  EXPECT_EQ(h.window, Millis(10000));
  EXPECT_EQ(h.daily_limit, 250000);
  EXPECT_EQ(h.daily_used, 1000);
  EXPECT_FALSE(h.retry_after.has_value());

  HttpResponse bare;
  bare.headers = {{"X-HubSpot-RateLimit-Max", "garbage"}};
  RateLimitHints none = ReadRateLimitHeaders(bare);
  EXPECT_FALSE(none.limit.has_value());
  EXPECT_FALSE(none.window.has_value());
}

}  // namespace
}  // namespace backflow::hubspot
