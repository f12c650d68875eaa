#include "destinations/hubspot/request_builder.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "destinations/hubspot/test_util.h"

namespace backflow::hubspot {
namespace {

using nlohmann::json;
using testing::Batch;
using testing::ContactsSync;

HubSpotSettings Settings() {
  HubSpotSettings s;
  s.base_url = "http://sandbox:8080";
  s.token = Secret("pat-secret");
  return s;
}

TEST(HubSpotRequestBuilder, UpsertShape) {
  SyncConfig sync = ContactsSync();
  RecordBatch batch = Batch(sync, 2);
  HttpRequest req = BuildBatchWrite(Settings(), batch);
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.url, "http://sandbox:8080/crm/v3/objects/contacts/batch/upsert");
  EXPECT_EQ(FindHeader(req.headers, "authorization").value_or(""), "Bearer pat-secret");
  EXPECT_EQ(FindHeader(req.headers, "Content-Type").value_or(""), "application/json");
  EXPECT_TRUE(req.idempotent);
  json body = json::parse(req.body);
  ASSERT_EQ(body["inputs"].size(), 2u);
  const json& first = body["inputs"][0];
  EXPECT_EQ(first["id"], "user_1");
  EXPECT_EQ(first["idProperty"], "warehouse_id");
  EXPECT_EQ(first["properties"]["lead_score"], "10");  // a string, not a number
  EXPECT_EQ(first["properties"]["email"], "u1@example.com");
  EXPECT_EQ(first["properties"]["warehouse_id"], "user_1");  // echoed back in results
  EXPECT_EQ(body["inputs"][1]["id"], "user_2");
}

TEST(HubSpotRequestBuilder, EveryValueIsAString) {
  SyncConfig sync = ContactsSync();
  RecordBatch batch;
  batch.sync = &sync;
  batch.fields = {"n", "b", "f", "ts", "d", "gone", "j"};
  Record r;
  r.warehouse_id = "42";
  r.values = {{ValueKind::kNumber, "3.50"},
              {ValueKind::kBoolean, "t"},
              {ValueKind::kBoolean, "f"},
              {ValueKind::kTimestamp, "2026-01-02 03:04:05.123+00"},
              {ValueKind::kDate, "2026-01-02"},
              {},
              {ValueKind::kJson, "{\"a\":1}"}};
  batch.records.push_back(r);
  json props = json::parse(BuildBatchWrite(Settings(), batch).body)["inputs"][0]["properties"];
  for (const auto& [k, v] : props.items()) EXPECT_TRUE(v.is_string()) << k;
  EXPECT_EQ(props["n"], "3.50");
  EXPECT_EQ(props["b"], "true");
  EXPECT_EQ(props["f"], "false");
  EXPECT_EQ(props["ts"], "2026-01-02T03:04:05.123Z");
  EXPECT_EQ(props["d"], "2026-01-02");
  EXPECT_EQ(props["gone"], "");  // clears the property
  EXPECT_EQ(props["j"], "{\"a\":1}");
}

TEST(HubSpotRequestBuilder, MappedIdPropertyCarriesTheWarehouseId) {
  SyncConfig sync = ContactsSync();
  RecordBatch batch;
  batch.sync = &sync;
  batch.fields = {"warehouse_id", "score"};
  Record r;
  r.warehouse_id = "user_9";
  r.values = {testing::Str("user_9"), testing::Int("1")};
  batch.records.push_back(r);
  const std::string body = BuildBatchWrite(Settings(), batch).body;
  json input = json::parse(body)["inputs"][0];
  EXPECT_EQ(input["id"], "user_9");
  EXPECT_EQ(input["properties"]["warehouse_id"], "user_9");
  // Once: a JSON object with a repeated key is not one HubSpot would accept.
  size_t keys = 0;
  for (size_t at = body.find("\"warehouse_id\":"); at != std::string::npos;
       at = body.find("\"warehouse_id\":", at + 1))
    ++keys;
  EXPECT_EQ(keys, 1u) << body;
}

TEST(HubSpotRequestBuilder, HundredRecordsFitOneRequest) {
  SyncConfig sync = ContactsSync();
  RecordBatch batch = Batch(sync, 100);
  json body = json::parse(BuildBatchWrite(Settings(), batch).body);
  EXPECT_EQ(body["inputs"].size(), 100u);
  EXPECT_EQ(body["inputs"][99]["id"], "user_100");
}

TEST(HubSpotRequestBuilder, UpdateByHsObjectId) {
  SyncConfig sync = ContactsSync(SyncMode::kUpdate);
  RecordBatch batch = Batch(sync, 2);
  batch.records[0].destination_id = "1001";
  batch.records[1].destination_id = "1002";
  HttpRequest req = BuildBatchWrite(Settings(), batch);
  EXPECT_EQ(req.url, "http://sandbox:8080/crm/v3/objects/contacts/batch/update");
  json body = json::parse(req.body);
  EXPECT_EQ(body["inputs"][0]["id"], "1001");
  EXPECT_FALSE(body["inputs"][0].contains("idProperty"));
  EXPECT_EQ(body["inputs"][1]["id"], "1002");
  EXPECT_EQ(body["inputs"][1]["properties"]["lead_score"], "20");
}

}  // namespace
}  // namespace backflow::hubspot
