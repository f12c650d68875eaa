#include "state/migrations.h"

#include <gtest/gtest.h>

#include "state_fixture.h"

namespace backflow::testing {
namespace {

using MigrationsTest = StateTest;

TEST_F(MigrationsTest, IdempotentAndSaltStable) {
  EXPECT_GE(LatestSchemaVersion(), 2);
  auto salt1 = LoadSalt(*conn_, kSchema);
  ASSERT_TRUE(salt1.ok());
  EXPECT_EQ(salt1->size(), 64u);
  ASSERT_TRUE(Migrate(*conn_, kSchema).ok());
  ASSERT_TRUE(Migrate(*conn_, kSchema).ok());
  EXPECT_EQ(N("SELECT max(version) FROM bf_state.schema_migrations"), LatestSchemaVersion());
  EXPECT_EQ(N("SELECT count(*) FROM bf_state.schema_migrations"), LatestSchemaVersion());
  auto salt2 = LoadSalt(*conn_, kSchema);
  ASSERT_TRUE(salt2.ok());
  EXPECT_EQ(*salt1, *salt2);
  for (const char* view : {"v_runs_daily", "v_failure_reasons", "v_change_log", "v_retry_queue"})
    EXPECT_EQ(N(std::string("SELECT count(*) FROM pg_views WHERE schemaname = 'bf_state' "
                            "AND viewname = '") + view + "'"),
              1)
        << view;
}

// The spec's keys: unique on (destination_system, object_type, warehouse_id), and on
// (destination_system, object_type, destination_id) where destination_id is not null.
TEST_F(MigrationsTest, IdMappingsIsUniqueOnTheSpecsKeys) {
  Q("INSERT INTO bf_state.id_mappings (warehouse_id, destination_system, object_type, "
    "destination_id) VALUES ('u1', 'sfdc', 'Lead', '00Q1'), ('u2', 'sfdc', 'Lead', NULL), "
    "('u3', 'sfdc', 'Lead', NULL), ('u1', 'sfdc', 'Contact', '00Q1'), ('u1', 'hubspot', 'Lead', '00Q1')");
  EXPECT_THROW(Q("INSERT INTO bf_state.id_mappings (warehouse_id, destination_system, object_type) "
                 "VALUES ('u1', 'sfdc', 'Lead')"),
               std::exception);
  EXPECT_THROW(Q("INSERT INTO bf_state.id_mappings (warehouse_id, destination_system, object_type, "
                 "destination_id) VALUES ('u4', 'sfdc', 'Lead', '00Q1')"),
               std::exception);
  // The per-record column leads both keys (the constant columns first made every
  // comparison of a commit's upsert go through three text columns).
  EXPECT_EQ(Q("SELECT pg_get_indexdef('bf_state.id_mappings_pkey'::regclass)"),
            "CREATE UNIQUE INDEX id_mappings_pkey ON bf_state.id_mappings USING btree "
            "(warehouse_id, destination_system, object_type)");
  EXPECT_EQ(N("SELECT count(*) FROM bf_state.id_mappings"), 5);
}

// A run's log rows are found through a BRIN on run_id (the log is append-only), a
// record's history through a hash index on warehouse_id.
TEST_F(MigrationsTest, ChangeLogIndexesFindARunAndARecord) {
  EXPECT_EQ(Q("SELECT pg_get_indexdef('bf_state.change_log_by_run'::regclass)"),
            "CREATE INDEX change_log_by_run ON bf_state.change_log USING brin (run_id)");
  Q("INSERT INTO bf_state.change_log (run_id, sync_name, destination, warehouse_id, operation) "
    "SELECT 1 + i / 20000, 's', 'd', i::text, 'create' FROM generate_series(0, 99999) AS i");
  Q("ANALYZE bf_state.change_log");
  EXPECT_EQ(N("SELECT count(*) FROM bf_state.change_log WHERE run_id = 3"), 20000);
  const std::string plan =
      Q("EXPLAIN (FORMAT JSON) SELECT count(*) FROM bf_state.change_log WHERE run_id = 3");
  EXPECT_NE(plan.find("\"Index Name\": \"change_log_by_run\""), std::string::npos) << plan;
  // A record's history, with or without its sync, through the hash index.
  EXPECT_EQ(Q("SELECT pg_get_indexdef('bf_state.change_log_by_record'::regclass)"),
            "CREATE INDEX change_log_by_record ON bf_state.change_log USING hash (warehouse_id)");
  EXPECT_EQ(N("SELECT count(*) FROM bf_state.change_log WHERE warehouse_id = '4242'"), 1);
  const std::string history = Q(
      "EXPLAIN (FORMAT JSON) SELECT * FROM bf_state.change_log WHERE warehouse_id = '4242' "
      "AND sync_name = 's' ORDER BY sent_at DESC");
  EXPECT_NE(history.find("\"Index Name\": \"change_log_by_record\""), std::string::npos)
      << history;
}

// State and mappings leave room on each page for the next run's versions (HOT updates).
TEST_F(MigrationsTest, StateTablesLeaveRoomForUpdates) {
  for (const char* table : {"row_state", "id_mappings"})
    EXPECT_EQ(Q(std::string("SELECT array_to_string(reloptions, ',') FROM pg_class WHERE oid = "
                            "'bf_state.") + table + "'::regclass"),
              "fillfactor=90")
        << table;
}

TEST_F(MigrationsTest, TwoSchemasHaveTheirOwnSalt) {
  ASSERT_TRUE(Migrate(*conn_, "other state").ok());
  auto a = LoadSalt(*conn_, kSchema);
  auto b = LoadSalt(*conn_, "other state");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_NE(*a, *b);
}

TEST_F(MigrationsTest, MissingSchemaIsAnError) {
  auto salt = LoadSalt(*conn_, "never_migrated");
  EXPECT_FALSE(salt.ok());
}

}  // namespace
}  // namespace backflow::testing
