// The sObject Collections request builder, the response classifier and Sforce-Limit-Info.
#include "destinations/salesforce/request_builder.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "destinations/salesforce/response_classifier.h"
#include "destinations/salesforce/test_util.h"

namespace backflow::salesforce {
namespace {

using nlohmann::json;
using namespace testing;

Session TestSession() { return {Secret("tok-123"), "https://na1.example.my.salesforce.com"}; }

TEST(RequestBuilderTest, UpsertAddressesTheExternalIdAndTypesEveryRecord) {
  SalesforceSettings settings;
  SyncConfig sync = LeadSync();
  RecordBatch batch = Leads(&sync, 3);
  HttpRequest req = BuildCollectionWrite(settings, TestSession(), batch);
  EXPECT_EQ(req.method, "PATCH");
  EXPECT_EQ(req.url, "https://na1.example.my.salesforce.com/services/data/v60.0/composite/sobjects/"
                     "Lead/ExternalId__c");
  EXPECT_EQ(FindHeader(req.headers, "authorization").value_or(""), "Bearer tok-123");
  EXPECT_TRUE(req.idempotent);
  json body = json::parse(req.body);
  EXPECT_EQ(body["allOrNone"], false);
  ASSERT_EQ(body["records"].size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const json& r = body["records"][i];
    EXPECT_EQ(r["attributes"]["type"], "Lead");
    EXPECT_FALSE(r.contains("Id"));
    EXPECT_EQ(r["ExternalId__c"], "user_" + std::to_string(i));
    EXPECT_EQ(r["Email"], "u" + std::to_string(i) + "@example.com");
    EXPECT_TRUE(r["Lead_Score__c"].is_number_integer());
    EXPECT_EQ(r["Lead_Score__c"], static_cast<int>(i));
  }
}

TEST(RequestBuilderTest, AMappedExternalIdOrIdNeverOverridesTheMatchKey) {
  SalesforceSettings settings;
  SyncConfig sync = LeadSync();
  RecordBatch batch;
  batch.sync = &sync;
  batch.fields = {"ExternalId__c", "Id", "Email"};
  batch.records.push_back(MakeRecord("user_9", {Str("other"), Str("00Qxx"), Str("a@b.c")}));
  json r = json::parse(BuildCollectionWrite(settings, TestSession(), batch).body)["records"][0];
  EXPECT_EQ(r["ExternalId__c"], "user_9");
  EXPECT_FALSE(r.contains("Id"));
  EXPECT_EQ(r["Email"], "a@b.c");
}

TEST(RequestBuilderTest, ValuesKeepTheirJsonTypes) {
  EXPECT_EQ(JsonValue({ValueKind::kInteger, "42"}), json(42));
  EXPECT_EQ(JsonValue({ValueKind::kInteger, "-9000000000"}), json(-9000000000LL));
  EXPECT_EQ(JsonValue({ValueKind::kNumber, "3.25"}), json(3.25));
  EXPECT_TRUE(JsonValue({ValueKind::kNumber, "NaN"}).is_null());
  EXPECT_EQ(JsonValue({ValueKind::kBoolean, "t"}), json(true));
  EXPECT_EQ(JsonValue({ValueKind::kBoolean, "f"}), json(false));
  EXPECT_TRUE(JsonValue({}).is_null());
  EXPECT_EQ(JsonValue({ValueKind::kTimestamp, "2026-01-02 03:04:05+00"}),
            json("2026-01-02T03:04:05Z"));
  EXPECT_EQ(JsonValue({ValueKind::kDate, "2026-01-02"}), json("2026-01-02"));
  EXPECT_EQ(JsonValue({ValueKind::kString, "87"}), json("87"));
}

TEST(RequestBuilderTest, UpdateUsesTheCollectionFormWithIds) {
  SalesforceSettings settings;
  SyncConfig sync = LeadSync(SyncMode::kUpdate);
  RecordBatch batch = Leads(&sync, 2);
  batch.records[0].destination_id = "00Q000000000001AAA";
  batch.records[1].destination_id = "00Q000000000002AAA";
  HttpRequest req = BuildCollectionWrite(settings, TestSession(), batch);
  EXPECT_EQ(req.url,
            "https://na1.example.my.salesforce.com/services/data/v60.0/composite/sobjects");
  json body = json::parse(req.body);
  EXPECT_EQ(body["records"][0]["Id"], "00Q000000000001AAA");
  EXPECT_EQ(body["records"][1]["Id"], "00Q000000000002AAA");
  EXPECT_EQ(body["records"][0]["attributes"]["type"], "Lead");
  EXPECT_FALSE(body["records"][0].contains("ExternalId__c"));
}

TEST(ResponseClassifierTest, MixedResultsFollowRequestOrder) {
  SyncConfig sync = LeadSync();
  RecordBatch batch = Leads(&sync, 4);
  auto failure = [](const char* code, const std::string& message, json fields) {
    json error = {{"statusCode", code}, {"message", message}, {"fields", std::move(fields)}};
    return json{{"id", nullptr}, {"success", false}, {"errors", json::array({error})}};
  };
  json body = json::array();
  body.push_back({{"id", "00QA"}, {"success", true}, {"created", true}, {"errors", json::array()}});
  body.push_back(failure("INVALID_FIELD", "No such column 'Bad__c'", json::array({"Bad__c"})));
  body.push_back(failure("UNABLE_TO_LOCK_ROW", "locked", json::array()));
  body.push_back(failure("STRING_TOO_LONG",
                         "Email: data value too large: secret@pii.example (max length=80)",
                         json::array({"Email"})));
  BatchResult r = ClassifyCollectionWrite(batch, Json(200, body.dump()));
  ASSERT_EQ(r.verdict, Verdict::kSuccessful);
  ASSERT_EQ(r.records.size(), 4u);
  EXPECT_EQ(r.records[0].kind, OutcomeKind::kDelivered);
  EXPECT_EQ(r.records[0].destination_id, "00QA");
  EXPECT_TRUE(r.records[0].created);
  EXPECT_EQ(r.records[1].kind, OutcomeKind::kPermanent);
  EXPECT_EQ(r.records[1].category, "INVALID_FIELD");
  EXPECT_NE(r.records[1].reason.find("Bad__c"), std::string::npos);
  EXPECT_EQ(r.records[2].kind, OutcomeKind::kRetryable);
  EXPECT_EQ(r.records[2].category, "UNABLE_TO_LOCK_ROW");
  EXPECT_EQ(r.records[3].kind, OutcomeKind::kPermanent);
  EXPECT_EQ(r.records[3].category, "STRING_TOO_LONG");
  EXPECT_EQ(r.records[3].reason.find("secret@pii"), std::string::npos) << r.records[3].reason;
}

TEST(ResponseClassifierTest, UpdatedRecordsAreNotCreated) {
  SyncConfig sync = LeadSync();
  RecordBatch batch = Leads(&sync, 1);
  BatchResult r = ClassifyCollectionWrite(
      batch, Json(200, R"([{"id":"00QB","success":true,"created":false,"errors":[]}])"));
  ASSERT_EQ(r.verdict, Verdict::kSuccessful);
  EXPECT_FALSE(r.records[0].created);
}

TEST(ResponseClassifierTest, WholeRequestAnswers) {
  SyncConfig sync = LeadSync();
  RecordBatch batch = Leads(&sync, 2);
  BatchResult bad = ClassifyCollectionWrite(
      batch, Json(400, R"([{"message":"Must send a concrete entity type.","errorCode":"INVALID_TYPE"}])"));
  EXPECT_EQ(bad.verdict, Verdict::kSplit);
  EXPECT_EQ(bad.category, "INVALID_TYPE");

  BatchResult expired = ClassifyCollectionWrite(
      batch, Json(401, R"([{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}])"));
  EXPECT_EQ(expired.verdict, Verdict::kReauthenticate);

  BatchResult limit = ClassifyCollectionWrite(
      batch, Json(403, R"([{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}])"));
  EXPECT_EQ(limit.verdict, Verdict::kPause);
  EXPECT_EQ(limit.category, "REQUEST_LIMIT_EXCEEDED");

  BatchResult denied = ClassifyCollectionWrite(
      batch, Json(403, R"([{"message":"no access","errorCode":"INSUFFICIENT_ACCESS"}])"));
  EXPECT_EQ(denied.verdict, Verdict::kFatal);

  BatchResult busy = ClassifyCollectionWrite(batch, Json(503, "[]"));
  EXPECT_EQ(busy.verdict, Verdict::kRetry);

  HttpResponse timeout;
  timeout.error = TransportError::kTimeout;
  EXPECT_EQ(ClassifyCollectionWrite(batch, timeout).verdict, Verdict::kRetry);

  EXPECT_EQ(ClassifyCollectionWrite(batch, Json(200, "<html>")).verdict, Verdict::kRetry);
  BatchResult short_answer = ClassifyCollectionWrite(
      batch, Json(200, R"([{"id":"00QB","success":true,"created":false,"errors":[]}])"));
  EXPECT_EQ(short_answer.verdict, Verdict::kFatal);
}

TEST(LimitInfoTest, ReadsApiUsage) {
  RateLimitHints h = ReadLimitInfo(Json(200, "", {{"sforce-limit-info", "api-usage=10018/100000"}}));
  EXPECT_EQ(h.daily_used, 10018);
  EXPECT_EQ(h.daily_limit, 100000);

  RateLimitHints both = ReadLimitInfo(
      Json(200, "", {{"Sforce-Limit-Info", "per-app-api-usage=5/50(appName=x), api-usage=7/90"}}));
  EXPECT_EQ(both.daily_used, 7);
  EXPECT_EQ(both.daily_limit, 90);

  EXPECT_FALSE(ReadLimitInfo(Json(200, "")).daily_used.has_value());
  EXPECT_FALSE(ReadLimitInfo(Json(200, "", {{"Sforce-Limit-Info", "api-usage=x/y"}}))
                   .daily_used.has_value());
}

}  // namespace
}  // namespace backflow::salesforce
