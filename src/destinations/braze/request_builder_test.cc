#include "destinations/braze/request_builder.h"

#include <gtest/gtest.h>

#include "backflow/config.h"
#include "destinations/braze/braze.h"

namespace backflow {
namespace {

using nlohmann::json;

BrazeSettings Settings(bool legacy = false) {
  BrazeSettings s;
  s.base_url = "https://rest.iad-01.braze.com";
  s.api_key = Secret("rest-key-123");
  s.legacy_limits = legacy;
  return s;
}

FieldValue V(ValueKind kind, std::string text = "") { return FieldValue{kind, std::move(text)}; }

RecordBatch Batch(const SyncConfig* sync, size_t n) {
  RecordBatch b;
  b.sync = sync;
  b.fields = {"ltv"};
  for (size_t i = 0; i < n; ++i) {
    Record r;
    r.warehouse_id = "user_" + std::to_string(i);
    r.values = {V(ValueKind::kInteger, std::to_string(i))};
    b.records.push_back(std::move(r));
  }
  return b;
}

TEST(BrazeAttributeValue, TypesValuesTheWayBrazeStoresThem) {
  EXPECT_EQ(BrazeAttributeValue(V(ValueKind::kString, "high")), json("high"));
  EXPECT_EQ(BrazeAttributeValue(V(ValueKind::kInteger, "-42")), json(-42));
  EXPECT_TRUE(BrazeAttributeValue(V(ValueKind::kInteger, "42")).is_number_integer());
  EXPECT_EQ(BrazeAttributeValue(V(ValueKind::kNumber, "87.5")), json(87.5));
  EXPECT_TRUE(BrazeAttributeValue(V(ValueKind::kNumber, "3")).is_number());
  EXPECT_EQ(BrazeAttributeValue(V(ValueKind::kBoolean, "t")), json(true));
  EXPECT_EQ(BrazeAttributeValue(V(ValueKind::kBoolean, "f")), json(false));
  EXPECT_EQ(BrazeAttributeValue(V(ValueKind::kTimestamp, "2026-01-02 03:04:05+00")),
            json("2026-01-02T03:04:05Z"));
  EXPECT_EQ(BrazeAttributeValue(V(ValueKind::kDate, "2026-01-02")), json("2026-01-02"));
  EXPECT_EQ(BrazeAttributeValue(V(ValueKind::kJson, R"({"plan":"pro","seats":[1,2]})")),
            json::parse(R"({"plan":"pro","seats":[1,2]})"));
  EXPECT_EQ(BrazeAttributeValue(V(ValueKind::kJson, R"(["a","b"])")), json::parse(R"(["a","b"])"));
}

TEST(BrazeAttributeValue, NullUnsetsAndOddNumbersStayVisible) {
  EXPECT_TRUE(BrazeAttributeValue(V(ValueKind::kNull)).is_null());
  // NaN has no JSON form: the text is sent rather than a silent null.
  EXPECT_EQ(BrazeAttributeValue(V(ValueKind::kNumber, "NaN")), json("NaN"));
  // Beyond int64: still a JSON number.
  EXPECT_TRUE(BrazeAttributeValue(V(ValueKind::kInteger, "99999999999999999999")).is_number());
}

TEST(BuildBrazeTrack, PostsAttributesWithTheKeyAsBearer) {
  SyncConfig sync;
  sync.object = "users";
  RecordBatch b;
  b.sync = &sync;
  b.fields = {"ltv_segment", "score", "vip", "churned_at", "email"};
  Record r;
  r.warehouse_id = "user_1";
  r.values = {V(ValueKind::kString, "high"), V(ValueKind::kNumber, "0.25"),
              V(ValueKind::kBoolean, "t"), V(ValueKind::kNull), V(ValueKind::kString, "a@b.c")};
  b.records.push_back(r);

  HttpRequest req = BuildBrazeTrack(Settings(), b);
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.url, "https://rest.iad-01.braze.com/users/track");
  EXPECT_EQ(FindHeader(req.headers, "authorization"), "Bearer rest-key-123");
  EXPECT_EQ(FindHeader(req.headers, "content-type"), "application/json");
  EXPECT_TRUE(req.idempotent);

  json body = json::parse(req.body);
  ASSERT_EQ(body.size(), 1u) << "attributes only: no events or purchases";
  ASSERT_EQ(body["attributes"].size(), 1u);
  const json& o = body["attributes"][0];
  EXPECT_EQ(o["external_id"], "user_1");
  EXPECT_EQ(o["ltv_segment"], "high");
  EXPECT_EQ(o["score"], 0.25);
  EXPECT_EQ(o["vip"], true);
  ASSERT_TRUE(o.contains("churned_at"));
  EXPECT_TRUE(o["churned_at"].is_null());
  EXPECT_EQ(o["email"], "a@b.c");
  EXPECT_FALSE(o.contains("_update_existing_only"));
}

TEST(BuildBrazeTrack, UpdateModeMarksEveryObjectUpdateExistingOnly) {
  SyncConfig sync;
  sync.mode = SyncMode::kUpdate;
  json body = json::parse(BuildBrazeTrack(Settings(), Batch(&sync, 3)).body);
  ASSERT_EQ(body["attributes"].size(), 3u);
  for (const json& o : body["attributes"]) EXPECT_EQ(o["_update_existing_only"], true);
  EXPECT_FALSE(NewBrazeDestination(Settings())->UpdateNeedsDestinationId());
}

TEST(BuildBrazeTrack, AMappedFieldCannotReplaceTheIdentifier) {
  SyncConfig sync;
  RecordBatch b = Batch(&sync, 1);
  b.fields = {"external_id"};
  b.records[0].values = {V(ValueKind::kString, "someone_else")};
  json body = json::parse(BuildBrazeTrack(Settings(), b).body);
  EXPECT_EQ(body["attributes"][0]["external_id"], "user_0");
}

TEST(BuildBrazeTrack, AFullBatchStaysWithinSeventyFiveObjectsInBothModes) {
  SyncConfig sync;
  for (bool legacy : {false, true}) {
    auto dest = NewBrazeDestination(Settings(legacy));
    const size_t max = dest->MaxBatchRecords(sync);
    EXPECT_EQ(max, 75u);
    json body = json::parse(dest->BuildUpsert(Batch(&sync, max)).body);
    size_t total = 0;
    for (const char* a : {"attributes", "events", "purchases"})
      if (body.contains(a)) total += body[a].size();
    EXPECT_EQ(total, 75u) << "legacy_limits=" << legacy;
    EXPECT_EQ(body["attributes"].size(), 75u);
  }
  EXPECT_EQ(BrazeDestinationType().MaxBatchRecords(), 75u);
}

TEST(BuildBrazeDelete, PostsExternalIds) {
  auto dest = NewBrazeDestination(Settings());
  EXPECT_EQ(dest->MaxDeleteRecords(), 50u);
  SyncConfig sync;
  HttpRequest req = dest->BuildDelete(sync, {"user_1", "user_2"});
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.url, "https://rest.iad-01.braze.com/users/delete");
  EXPECT_EQ(FindHeader(req.headers, "Authorization"), "Bearer rest-key-123");
  EXPECT_EQ(json::parse(req.body), json::parse(R"({"external_ids":["user_1","user_2"]})"));
}

}  // namespace
}  // namespace backflow
