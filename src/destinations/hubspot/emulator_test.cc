// The HubSpot emulator through a real in-process Sandbox.
#include "destinations/hubspot/emulator.h"

#include <gtest/gtest.h>

#include "destinations/hubspot/emulator_test_util.h"
#include "destinations/hubspot/request_builder.h"
#include "destinations/hubspot/response_classifier.h"
#include "destinations/hubspot/test_util.h"

namespace backflow::hubspot {
namespace {

using nlohmann::json;
using HubSpotEmulatorTest = testing::SandboxTest;

TEST_F(HubSpotEmulatorTest, RefusesMissingOrWrongToken) {
  for (const char* token : {"", "wrong"}) {
    auto res = Upsert({Input("user_1", {{"a", "1"}})}, token);
    ASSERT_TRUE(res) << token;
    EXPECT_EQ(res->status, 401);
    json body = json::parse(res->body);
    EXPECT_EQ(body["status"], "error");
    EXPECT_EQ(body["category"], "INVALID_AUTHENTICATION");
    EXPECT_TRUE(body.contains("correlationId"));
    EXPECT_TRUE(res->has_header("X-HubSpot-RateLimit-Max"));
  }
  EXPECT_TRUE(Contacts().empty());
}

TEST_F(HubSpotEmulatorTest, ConfiguredToken) {
  StartWith({{"token", "pat-abc"}});
  EXPECT_EQ(Upsert({Input("user_1", json::object())})->status, 401);
  EXPECT_EQ(Upsert({Input("user_1", json::object())}, "pat-abc")->status, 200);
}

TEST_F(HubSpotEmulatorTest, UpsertIsIdempotentByIdProperty) {
  auto first = Upsert({Input("user_1", {{"lead_score", "87"}}), Input("user_2", json::object())});
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200);
  json body = json::parse(first->body);
  EXPECT_EQ(body["status"], "COMPLETE");
  ASSERT_EQ(body["results"].size(), 2u);
  std::map<std::string, std::string> ids;
  for (const json& r : body["results"]) {
    EXPECT_TRUE(r["new"].get<bool>());
    EXPECT_TRUE(r.contains("createdAt"));
    EXPECT_EQ(r["properties"]["hs_object_id"], r["id"]);
    ids[r["properties"]["warehouse_id"]] = r["id"];
  }
  EXPECT_EQ(ids["user_1"], "1001");
  EXPECT_EQ(ids["user_2"], "1002");

  auto again = Upsert({Input("user_1", {{"lead_score", "90"}})});
  ASSERT_EQ(again->status, 200);
  json r = json::parse(again->body)["results"][0];
  EXPECT_FALSE(r["new"].get<bool>());
  EXPECT_EQ(r["id"], "1001");
  json contacts = Contacts();
  ASSERT_EQ(contacts.size(), 2u);
  EXPECT_EQ(contacts[0]["properties"]["lead_score"], "90");
}

TEST_F(HubSpotEmulatorTest, RefusesWholeBatches) {
  std::vector<json> many;
  for (int i = 0; i < 101; ++i) many.push_back(Input("u" + std::to_string(i), json::object()));
  EXPECT_EQ(Upsert(many)->status, 400);

  auto not_unique = Upsert({Input("user_1", json::object(), "firstname")});
  EXPECT_EQ(not_unique->status, 400);
  EXPECT_EQ(json::parse(not_unique->body)["category"], "VALIDATION_ERROR");

  auto dup = Upsert({Input("user_1", json::object()), Input("user_1", json::object())});
  ASSERT_EQ(dup->status, 400);
  EXPECT_EQ(json::parse(dup->body)["context"]["ids"][0], "user_1");

  EXPECT_EQ(Post("/crm/v3/objects/contacts/batch/upsert", json("nope"))->status, 400);
  EXPECT_TRUE(Contacts().empty());
}

TEST_F(HubSpotEmulatorTest, ConfiguredUniqueProperties) {
  StartWith({{"unique_properties", {{"companies", {"domain"}}}}});
  EXPECT_EQ(Post("/crm/v3/objects/companies/batch/upsert",
                 {{"inputs", json::array({Input("acme.com", json::object(), "domain")})}})->status, 200);
  EXPECT_EQ(Post("/crm/v3/objects/companies/batch/upsert",
                 {{"inputs", json::array({Input("w1", json::object(), "warehouse_id")})}})->status, 400);
  // Other object types keep the defaults.
  EXPECT_EQ(Upsert({Input("a@b.c", json::object(), "email")})->status, 200);
}

TEST_F(HubSpotEmulatorTest, PerInputFailuresIn207) {
  auto res = Upsert({Input("good", {{"a", "1"}}), Input("bad_name", {{"invalid_x", "1"}}),
                     Input("bad_value", {{"a", "x__reject__"}}), Input("number", {{"a", 5}})});
  ASSERT_EQ(res->status, 207);
  json body = json::parse(res->body);
  EXPECT_EQ(body["numErrors"], 3);
  ASSERT_EQ(body["results"].size(), 1u);
  std::set<std::string> failed;
  for (const json& e : body["errors"]) {
    EXPECT_EQ(e["category"], "VALIDATION_ERROR");
    failed.insert(e["context"]["ids"][0].get<std::string>());
  }
  EXPECT_EQ(failed, (std::set<std::string>{"bad_name", "bad_value", "number"}));
  EXPECT_EQ(Contacts().size(), 1u);
}

// The destination's own request builder and classifier against the emulator.
TEST_F(HubSpotEmulatorTest, RoundTripThroughBuilderAndClassifier) {
  HubSpotSettings settings;
  settings.base_url = sandbox_->base_url();
  settings.token = Secret(HubSpotEmulator::kDefaultToken);
  SyncConfig sync = testing::ContactsSync();
  RecordBatch batch = testing::Batch(sync, 3);
  batch.records[1].values[1] = testing::Str("__reject__@example.com");

  HttpRequest req = BuildBatchWrite(settings, batch);
  auto raw = client_->Post("/crm/v3/objects/contacts/batch/upsert",
                           {{"Authorization", FindHeader(req.headers, "Authorization").value()}},
                           req.body, "application/json");
  ASSERT_TRUE(raw);
  HttpResponse res;
  res.status = raw->status;
  res.body = raw->body;
  for (const auto& [k, v] : raw->headers) res.headers.emplace_back(k, v);
  BatchResult r = ClassifyBatchWrite(batch, res);
  ASSERT_EQ(r.verdict, Verdict::kSuccessful);
  EXPECT_EQ(r.records[0].kind, OutcomeKind::kDelivered);
  EXPECT_EQ(r.records[0].destination_id, "1001");
  EXPECT_TRUE(r.records[0].created);
  EXPECT_EQ(r.records[1].kind, OutcomeKind::kPermanent);
  EXPECT_EQ(r.records[1].category, "VALIDATION_ERROR");
  EXPECT_EQ(r.records[2].kind, OutcomeKind::kDelivered);
  EXPECT_EQ(r.records[2].destination_id, "1002");
  EXPECT_EQ(ReadRateLimitHeaders(res).remaining.has_value(), true);
}

TEST_F(HubSpotEmulatorTest, UpdateByHsObjectId) {
  ASSERT_EQ(Upsert({Input("user_1", {{"a", "1"}})})->status, 200);
  auto res = Post("/crm/v3/objects/contacts/batch/update",
                  {{"inputs", {{{"id", "1001"}, {"properties", {{"a", "2"}}}},
                               {{"id", "9999"}, {"properties", {{"a", "3"}}}}}}});
  ASSERT_EQ(res->status, 207);
  json body = json::parse(res->body);
  ASSERT_EQ(body["results"].size(), 1u);
  EXPECT_EQ(body["results"][0]["id"], "1001");
  EXPECT_EQ(body["errors"][0]["category"], "OBJECT_NOT_FOUND");
  EXPECT_EQ(body["errors"][0]["context"]["ids"][0], "9999");
  EXPECT_EQ(Contacts()[0]["properties"]["a"], "2");
  EXPECT_EQ(Contacts().size(), 1u);  // update never creates
}

TEST_F(HubSpotEmulatorTest, ReadsAnObject) {
  ASSERT_EQ(Upsert({Input("user_1", {{"a", "1"}})})->status, 200);
  httplib::Headers auth = {{"Authorization", "Bearer sandbox-hubspot-token"}};
  auto by_id = client_->Get("/crm/v3/objects/contacts/1001", auth);
  ASSERT_EQ(by_id->status, 200);
  EXPECT_EQ(json::parse(by_id->body)["properties"]["a"], "1");
  EXPECT_EQ(client_->Get("/crm/v3/objects/contacts/user_1?idProperty=warehouse_id", auth)->status,
            200);
  EXPECT_EQ(client_->Get("/crm/v3/objects/contacts/4242", auth)->status, 404);
}

TEST_F(HubSpotEmulatorTest, RateLimitHeadersAndUnthrottledDefault) {
  for (int i = 0; i < 150; ++i) ASSERT_EQ(Upsert({Input("u", json::object())})->status, 200);
  auto res = Upsert({Input("u", json::object())});
  EXPECT_EQ(res->get_header_value("X-HubSpot-RateLimit-Interval-Milliseconds"), "10000");
  EXPECT_EQ(res->get_header_value("X-HubSpot-RateLimit-Max"), "1000000");
  EXPECT_EQ(res->get_header_value("X-HubSpot-RateLimit-Remaining"), "999849");
  EXPECT_EQ(res->get_header_value("X-HubSpot-RateLimit-Daily"), "1000000");
  EXPECT_EQ(res->get_header_value("X-HubSpot-RateLimit-Daily-Remaining"), "999849");
}

TEST_F(HubSpotEmulatorTest, ConfiguredRollingWindow) {
  StartWith({{"rate_limit", {{"requests", 2}, {"interval_ms", 10000}}}});
  auto a = Upsert({Input("u1", json::object())});
  EXPECT_EQ(a->get_header_value("X-HubSpot-RateLimit-Remaining"), "1");
  EXPECT_EQ(Upsert({Input("u2", json::object())})->status, 200);
  auto limited = Upsert({Input("u3", json::object())});
  ASSERT_EQ(limited->status, 429);
  json body = json::parse(limited->body);
  EXPECT_EQ(body["policyName"], "TEN_SECONDLY_ROLLING");
  EXPECT_EQ(body["errorType"], "RATE_LIMIT");
  EXPECT_EQ(limited->get_header_value("X-HubSpot-RateLimit-Remaining"), "0");
  EXPECT_EQ(Contacts().size(), 2u);
  clock_.Advance(std::chrono::milliseconds(10001));
  EXPECT_EQ(Upsert({Input("u3", json::object())})->status, 200);
}

TEST_F(HubSpotEmulatorTest, DailyLimit) {
  StartWith({{"daily_limit", 1}});
  EXPECT_EQ(Upsert({Input("u1", json::object())})->status, 200);
  auto res = Upsert({Input("u2", json::object())});
  ASSERT_EQ(res->status, 429);
  EXPECT_EQ(json::parse(res->body)["policyName"], "DAILY");
}

TEST(HubSpotEmulatorConfig, RefusesUnknownOptions) {
  HubSpotEmulator e;
  EXPECT_THROW(e.Configure({{"tokn", "x"}}), std::exception);
  EXPECT_THROW(e.Configure({{"rate_limit", {{"requests", 0}}}}), std::exception);
}

}  // namespace
}  // namespace backflow::hubspot
