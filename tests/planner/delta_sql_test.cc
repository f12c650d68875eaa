#include <gtest/gtest.h>

#include "planner/delta.h"

namespace backflow {
namespace {

SyncConfig Sync() {
  SyncConfig s;
  s.name = "lead_scores";
  s.object = "Lead";
  s.model_sql = "SELECT user_id, email, score FROM analytics.lead_scores";
  s.primary_key = "user_id";
  s.fields = {{"Email", "email"}, {"Lead_Score__c", "score"}};
  return s;
}

bool Has(const std::string& sql, const std::string& part) {
  return sql.find(part) != std::string::npos;
}

TEST(DeltaSqlTest, HashStrategyShape) {
  DeltaSql sql = BuildDeltaSql(Sync(), "sfdc", "backflow", {});
  EXPECT_TRUE(Has(sql.create_temp, "CREATE TEMP TABLE bf_delta")) << sql.create_temp;
  EXPECT_TRUE(Has(sql.create_temp, "WITH NO DATA"));
  EXPECT_TRUE(Has(sql.create_temp, "(SELECT user_id, email, score FROM analytics.lead_scores) AS m"));
  const std::string& f = sql.count;
  // The hash is computed once per row, as a simple CASE's operand, over the mapped columns,
  // and only for a row with state or a queue entry: a new row is changed without it.
  EXPECT_TRUE(Has(f, "      WHEN rs.warehouse_id IS NULL AND q.warehouse_id IS NULL THEN "
                     "'changed'\n"
                     "      ELSE CASE lpad(to_hex(hashtextextended('Email,Lead_Score__c' || "
                     "row(k.c0, k.c1)::text, 0)), 16, '0')\n")) << f;
  EXPECT_TRUE(Has(f, "WHEN rs.row_hash THEN 'unchanged'"));
  // Earlier versions' md5 hashes (32 digits) are compared only when one is stored.
  EXPECT_TRUE(Has(f, "ELSE CASE CASE WHEN length(q.row_hash) = 32 OR length(rs.row_hash) = 32 "
                     "THEN md5('Email,Lead_Score__c' || row(k.c0, k.c1)::text) END"));
  EXPECT_TRUE(Has(f, "WHEN rs.row_hash THEN 'legacy_unchanged'"));
  EXPECT_TRUE(Has(f, "FILTER (WHERE verdict = 'legacy_unchanged') AS rows_legacy_hash"));
  EXPECT_TRUE(Has(sql.rehash_legacy,
                  "UPDATE \"backflow\".row_state rs SET row_hash = lpad(to_hex(hashtextextended("
                  "'Email,Lead_Score__c' || row(m.\"email\", m.\"score\")::text, 0)), 16, '0')"))
      << sql.rehash_legacy;
  EXPECT_TRUE(Has(sql.rehash_legacy, "AND length(rs.row_hash) = 32\n  AND rs.row_hash = md5("
                                     "'Email,Lead_Score__c' || row(m.\"email\", m.\"score\")::text)"));
  EXPECT_TRUE(Has(f, "LEFT JOIN \"backflow\".row_state rs ON rs.sync_name = 'lead_scores'"));
  EXPECT_TRUE(Has(f, "LEFT JOIN \"backflow\".retry_queue q"));
  EXPECT_TRUE(Has(f, "FROM classified OFFSET 0) AS v"));
  EXPECT_TRUE(Has(f, "now()"));
  EXPECT_FALSE(Has(f, "sync_cursors"));
  EXPECT_FALSE(Has(f, "md5(k.warehouse_id)"));  // no sample
  EXPECT_FALSE(Has(f, "MATERIALIZED"));
  // Many changed rows: read straight from the classification, in key order.
  const std::string& direct = sql.stream_changed;
  EXPECT_TRUE(Has(direct, "WITH src AS")) << direct;
  EXPECT_TRUE(Has(direct, "SELECT c.warehouse_id, lpad(to_hex(hashtextextended("
                          "'Email,Lead_Score__c' || row(c.c0, c.c1)::text, 0)), 16, '0') AS "
                          "row_hash, im.destination_id, c.delivered AS previously_delivered, "
                          "c.c0, c.c1, c.prev ->> 'Email' AS p0, c.prev ->> 'Lead_Score__c' AS p1"))
      << direct;
  EXPECT_TRUE(Has(direct, "im.destination_system = 'sfdc' AND im.object_type = 'Lead'"));
  EXPECT_TRUE(Has(direct, "WHERE c.verdict = 'changed'\nORDER BY c.k, c.warehouse_id"));
  // A small delta: the count returns its keys, and the rows are found again by them.
  EXPECT_TRUE(Has(f, "<= 50000 THEN (array_agg(k) FILTER (WHERE verdict = 'changed'))::text"));
  EXPECT_TRUE(Has(sql.fill_by_keys, "INSERT INTO bf_delta\nWITH src AS"));
  EXPECT_TRUE(Has(sql.fill_by_keys, "WHERE c.verdict = 'changed' AND c.k = ANY($1)"));
  // One statement each: no separators.
  EXPECT_FALSE(Has(f, ";"));
  EXPECT_FALSE(Has(direct, ";"));
  EXPECT_TRUE(Has(sql.stream, "FROM bf_delta ORDER BY k"));
  EXPECT_TRUE(Has(sql.stream, "SELECT warehouse_id, row_hash, destination_id, "
                              "previously_delivered, c0, c1, prev ->> 'Email' AS p0"));
  EXPECT_TRUE(Has(sql.deletes, "NOT EXISTS"));
}

TEST(DeltaSqlTest, UpdatedAtSampleConsentAndInjectedNow) {
  SyncConfig s = Sync();
  s.strategy = ChangeStrategy::kUpdatedAt;
  s.updated_at_column = "updated_at";
  s.lookback = Millis(3600 * 1000);
  s.consent_column = "marketing_consent";
  DeltaOptions o;
  o.sample = 0.01;
  o.now = WallTime(std::chrono::seconds(1767225600));  // 2026-01-01 00:00:00 UTC
  // No cursor yet: every row, no window.
  EXPECT_FALSE(Has(BuildDeltaSql(s, "sfdc", "state", o).count, "milliseconds"));
  DeltaSql sql = BuildDeltaSql(s, "sfdc", "state", o, false, "2025-12-31 23:00:00+00");
  const std::string& f = sql.count;
  // The stored cursor minus the lookback, as a literal the planner can size the window by.
  EXPECT_TRUE(Has(f, "m.\"updated_at\" > ('2025-12-31 23:00:00+00'::timestamptz - "
                     "interval '3600000 milliseconds')")) << f;
  EXPECT_TRUE(Has(f, "\"state\".retry_queue q WHERE q.sync_name = 'lead_scores'"));
  EXPECT_TRUE(Has(f, "m.\"marketing_consent\") IS TRUE"));
  EXPECT_TRUE(Has(f, "md5(k.warehouse_id)"));
  EXPECT_TRUE(Has(f, ">= 42949673 THEN 'out_of_sample'"));  // ceil(0.01 * 2^32)
  EXPECT_TRUE(Has(f, "'2026-01-01 00:00:00.000000+00'::timestamptz"));
  EXPECT_FALSE(Has(f, "now()"));
  EXPECT_TRUE(Has(f, "max(ua)::text AS new_cursor"));
  // Keys are not known unique: rows are counted per key, and the duplicated keys counted.
  EXPECT_TRUE(Has(f, "count(*) OVER (PARTITION BY s.warehouse_id)"));
  EXPECT_TRUE(Has(f, "count(DISTINCT warehouse_id) FILTER (WHERE verdict = 'duplicate_key')"));
}

TEST(DeltaSqlTest, RetryOnlyAndFull) {
  DeltaOptions retry;
  retry.retry_only = true;
  std::string f = BuildDeltaSql(Sync(), "sfdc", "backflow", retry).count;
  EXPECT_TRUE(Has(f, "WHEN q.status = 'pending' AND q.next_attempt_at <= now() THEN 'changed'"));
  retry.retry_all_pending = true;
  f = BuildDeltaSql(Sync(), "sfdc", "backflow", retry).count;
  EXPECT_TRUE(Has(f, "WHEN q.status = 'pending' THEN 'changed'"));
  DeltaOptions full;
  full.full = true;
  f = BuildDeltaSql(Sync(), "sfdc", "backflow", full).count;
  EXPECT_TRUE(Has(f, "ELSE 'changed'"));
  EXPECT_FALSE(Has(f, "IS DISTINCT FROM"));
}

TEST(DeltaSqlTest, IdentifiersAreQuoted) {
  SyncConfig s = Sync();
  s.primary_key = "User \"Id\"";
  s.name = "o'brien";
  DeltaSql sql = BuildDeltaSql(s, "sfdc", "backflow", {});
  EXPECT_TRUE(Has(sql.count, "(m.\"User \"\"Id\"\"\"::text COLLATE \"C\")")) << sql.count;
  EXPECT_TRUE(Has(sql.count, "'o''brien'"));
}

TEST(DeltaSqlTest, SampleBucketIsStableAndUniform) {
  EXPECT_DOUBLE_EQ(SampleBucket("42"), SampleBucket("42"));
  EXPECT_NE(SampleBucket("42"), SampleBucket("43"));
  // md5("") = d41d8cd9...: 0xd41d8cd9 / 2^32.
  EXPECT_DOUBLE_EQ(SampleBucket(""), 3558706393.0 / 4294967296.0);
  int below = 0;
  for (int i = 0; i < 10000; ++i) below += SampleBucket(std::to_string(i)) < 0.5;
  EXPECT_NEAR(below, 5000, 300);
}

}  // namespace
}  // namespace backflow
