// Streaming the delta: pages, rewind, value kinds, PII comparison and deletes.
#include <gtest/gtest.h>

#include "planner/delta_fixture.h"

namespace backflow {
namespace {

TEST_F(DeltaTest, StreamsFiftyThousandRowsInSmallPages) {
  AddLeads(1, 50000);
  auto reader = Open();
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->summary().rows_changed, 50000);
  size_t total = 0, pages = 0;
  long long last = 0;
  bool ordered = true;
  while (true) {
    std::vector<Record> page;
    auto more = reader->Next(1000, &page);
    ASSERT_TRUE(more.ok()) << more.status().ToString();
    if (!*more) break;
    ASSERT_LE(page.size(), 1000u);
    for (const Record& r : page) {
      long long id = std::stoll(r.warehouse_id);
      ordered = ordered && id > last;  // primary-key order, not text order
      last = id;
    }
    total += page.size();
    ++pages;
  }
  EXPECT_TRUE(ordered);
  EXPECT_EQ(total, 50000u);
  EXPECT_EQ(pages, 50u);
  // Exhausted stays exhausted; Rewind starts over.
  std::vector<Record> none;
  EXPECT_FALSE(*reader->Next(10, &none));
  ASSERT_TRUE(reader->Rewind().ok());
  std::vector<Record> again;
  ASSERT_TRUE(*reader->Next(3, &again));
  ASSERT_EQ(again.size(), 3u);
  EXPECT_EQ(again[0].warehouse_id, "1");
  EXPECT_EQ(again[2].warehouse_id, "3");
}

TEST_F(DeltaTest, ValuesCarryKindsAndPostgresText) {
  db_.Exec("CREATE TABLE analytics.typed (id bigint, i int, n numeric(6,2), f float8, b boolean,"
           " ts timestamptz, d date, t text, j jsonb, nothing text)");
  db_.Exec("INSERT INTO analytics.typed VALUES (1, 42, 12.50, 0.25, true,"
           " '2026-01-02 04:04:05+01', '2026-01-02', 'hello', '{\"a\": 1}', NULL)");
  sync_.model_table = "analytics.typed";
  sync_.fields = {{"I", "i"}, {"N", "n"}, {"F", "f"}, {"B", "b"}, {"TS", "ts"},
                  {"D", "d"}, {"T", "t"}, {"J", "j"}, {"Nothing", "nothing"}};
  auto reader = Open();
  ASSERT_TRUE(reader);
  auto records = ReadAll(*reader);
  ASSERT_EQ(records.size(), 1u);
  const auto& v = records[0].values;
  ASSERT_EQ(v.size(), 9u);
  EXPECT_EQ(v[0].kind, ValueKind::kInteger);
  EXPECT_EQ(v[0].text, "42");
  EXPECT_EQ(v[1].kind, ValueKind::kNumber);
  EXPECT_EQ(v[1].text, "12.50");
  EXPECT_EQ(v[2].kind, ValueKind::kNumber);
  EXPECT_EQ(v[2].text, "0.25");
  EXPECT_EQ(v[3].kind, ValueKind::kBoolean);
  EXPECT_TRUE(v[3].AsBool());
  EXPECT_EQ(v[4].kind, ValueKind::kTimestamp);
  EXPECT_EQ(v[4].text, "2026-01-02 03:04:05+00");
  EXPECT_EQ(v[4].AsIso8601(), "2026-01-02T03:04:05Z");
  EXPECT_EQ(v[5].kind, ValueKind::kDate);
  EXPECT_EQ(v[5].text, "2026-01-02");
  EXPECT_EQ(v[6].kind, ValueKind::kString);
  EXPECT_EQ(v[6].text, "hello");
  EXPECT_EQ(v[7].kind, ValueKind::kJson);
  EXPECT_EQ(v[7].text, "{\"a\": 1}");
  EXPECT_TRUE(v[8].is_null());
  EXPECT_EQ(v[8].text, "");
}

TEST_F(DeltaTest, PiiFieldsCompareByTheirStoredHash) {
  AddLeads(1, 3);
  auto hasher = [](const std::string& v) { return "sha256:" + std::to_string(v.size()) + v; };
  {
    auto reader = Open();
    ASSERT_TRUE(reader);
    Deliver(ReadAll(*reader), *reader, hasher);
  }
  db_.Exec("UPDATE analytics.leads SET score = 1000 WHERE id = 1");
  db_.Exec("UPDATE analytics.leads SET email = 'new@x.io' WHERE id = 2");
  DeltaOptions o;
  o.pii_fields = {"Email"};
  o.pii_hasher = hasher;
  auto reader = Open(o);
  ASSERT_TRUE(reader);
  auto records = ReadAll(*reader);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].changed_fields, (std::vector<std::string>{"Score__c"}));
  EXPECT_EQ(records[0].previous_values[0], hasher("u1@x.io"));
  EXPECT_EQ(records[1].changed_fields, (std::vector<std::string>{"Email"}));
}

TEST_F(DeltaTest, DeletesAreDeliveredRowsThatLeftTheModel) {
  AddLeads(1, 6);
  DeliverAll();
  db_.Exec("DELETE FROM analytics.leads WHERE id IN (2, 5)");
  db_.Exec("UPDATE backflow.id_mappings SET destination_id = NULL WHERE warehouse_id = '5'");
  // Another sync's state is not ours to delete.
  db_.Exec("INSERT INTO backflow.row_state (sync_name, warehouse_id, row_hash, delivered_at)"
           " VALUES ('other', '3000', 'h', now())");
  DeltaOptions o;
  o.with_deletes = true;
  auto reader = Open(o);
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->summary().rows_deleted, 2);
  EXPECT_EQ(reader->summary().rows_changed, 0);
  std::vector<std::pair<std::string, std::string>> gone, page;
  while (true) {
    page.clear();
    auto more = reader->NextDeleted(1, &page);
    ASSERT_TRUE(more.ok()) << more.status().ToString();
    if (!*more) break;
    gone.insert(gone.end(), page.begin(), page.end());
  }
  ASSERT_EQ(gone.size(), 2u);
  EXPECT_EQ(gone[0], (std::pair<std::string, std::string>{"2", "00Q2"}));
  EXPECT_EQ(gone[1], (std::pair<std::string, std::string>{"5", ""}));

  auto without = Open();
  ASSERT_TRUE(without);
  EXPECT_EQ(without->summary().rows_deleted, 0);
  page.clear();
  EXPECT_FALSE(*without->NextDeleted(10, &page));
}

}  // namespace
}  // namespace backflow
