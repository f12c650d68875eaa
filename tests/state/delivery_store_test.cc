#include "state/delivery_store.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <pqxx/pqxx>

#include "state/run_store.h"
#include "state_fixture.h"

namespace backflow::testing {
namespace {

using DeliveryStoreTest = StateTest;

TEST_F(DeliveryStoreTest, MixedOutcomesWriteEveryTable) {
  std::vector<Record> records = {
      MakeRecord("u1", "ann@example.com", "90", "h1"),
      MakeRecord("u2", "bob@example.com", "40", "h2", /*previously_delivered=*/true),
      MakeRecord("u3", "cy@example.com", "70", "h3"),
      MakeRecord("u4", "dee@example.com", "10", "h4"),
      MakeRecord("u5", "eve@example.com", "55", "h5"),
  };
  records[1].changed_fields = {"Score"};
  std::vector<RecordOutcome> outcomes = {
      Delivered("00Q1", /*created=*/true),
      Delivered("00Q2"),
      Failed(OutcomeKind::kRetryable, "RATE_LIMIT", "rate limited"),
      Failed(OutcomeKind::kPermanent, "INVALID_EMAIL", "Email: invalid address"),
      RecordOutcome{OutcomeKind::kSkipped, "", false, "", ""},
  };
  auto totals = Commit(records, outcomes, 7, FixedNow());
  ASSERT_TRUE(totals.ok()) << totals.status().ToString();
  EXPECT_EQ(totals->delivered, 2);
  EXPECT_EQ(totals->failed, 2);
  EXPECT_EQ(totals->dead, 0);
  EXPECT_EQ(totals->skipped, 1);
  EXPECT_EQ(totals->created, 1);
  EXPECT_EQ(totals->updated, 1);

  // id_mappings: delivered rows succeed with their id; failed rows are recorded as failed.
  EXPECT_EQ(Q("SELECT destination_id || ':' || sync_status FROM bf_state.id_mappings "
              "WHERE warehouse_id = 'u1' AND destination_system = 'sfdc' AND object_type = 'Lead'"),
            "00Q1:success");
  EXPECT_EQ(Q("SELECT sync_status FROM bf_state.id_mappings WHERE warehouse_id = 'u2'"), "success");
  EXPECT_EQ(Q("SELECT last_synced_at = '2026-03-01 12:00:00+00' FROM bf_state.id_mappings "
              "WHERE warehouse_id = 'u1'"),
            "t");
  EXPECT_EQ(Q("SELECT sync_status || coalesce(destination_id, '-') FROM bf_state.id_mappings "
              "WHERE warehouse_id = 'u3'"),
            "failed-");
  EXPECT_EQ(Q("SELECT sync_status FROM bf_state.id_mappings WHERE warehouse_id = 'u4'"), "failed");
  EXPECT_EQ(N("SELECT count(*) FROM bf_state.id_mappings WHERE warehouse_id = 'u5'"), 0);

  // row_state: delivered rows only, with their hash and run.
  EXPECT_EQ(N("SELECT count(*) FROM bf_state.row_state"), 2);
  EXPECT_EQ(Q("SELECT row_hash || ':' || run_id FROM bf_state.row_state WHERE warehouse_id = 'u2'"),
            "h2:7");
  EXPECT_EQ(Q("SELECT field_values->>'Score' FROM bf_state.row_state WHERE warehouse_id = 'u1'"),
            "90");

  // change_log: delivered rows, create vs update, changed fields.
  EXPECT_EQ(N("SELECT count(*) FROM bf_state.change_log"), 2);
  EXPECT_EQ(Q("SELECT operation || ':' || destination_id || ':' || destination || ':' || run_id "
              "FROM bf_state.change_log WHERE warehouse_id = 'u1'"),
            "create:00Q1:sfdc:7");
  EXPECT_EQ(Q("SELECT operation || ':' || array_to_string(changed_fields, ',') "
              "FROM bf_state.change_log WHERE warehouse_id = 'u2'"),
            "update:Score");
  EXPECT_EQ(Q("SELECT field_values::text FROM bf_state.change_log WHERE warehouse_id = 'u2'"),
            "{\"Score\": \"40\"}");
  EXPECT_EQ(N("SELECT count(*) FROM bf_state.change_log WHERE planned"), 0);

  // retry_queue: both failures, with reason, category and the first backoff.
  EXPECT_EQ(N("SELECT count(*) FROM bf_state.retry_queue"), 2);
  EXPECT_EQ(Q("SELECT attempts || ':' || status || ':' || error_category || ':' || last_error "
              "FROM bf_state.retry_queue WHERE warehouse_id = 'u4'"),
            "1:pending:INVALID_EMAIL:Email: invalid address");
  EXPECT_EQ(Q("SELECT next_attempt_at = '2026-03-01 12:00:01+00' FROM bf_state.retry_queue "
              "WHERE warehouse_id = 'u3'"),
            "t");
  EXPECT_EQ(Q("SELECT destination || ':' || row_hash || ':' || last_run_id FROM "
              "bf_state.retry_queue WHERE warehouse_id = 'u3'"),
            "sfdc:h3:7");
  auto depth = store_->RetryQueueDepth("lead_scores", "pending");
  ASSERT_TRUE(depth.ok());
  EXPECT_EQ(*depth, 2);
}

TEST_F(DeliveryStoreTest, TransientFailuresBackOffButAreNeverGivenUp) {
  std::vector<Record> records = {MakeRecord("u1", "a@example.com", "1", "h1")};
  std::vector<RecordOutcome> fail = {Failed(OutcomeKind::kRetryable, "HTTP_503", "unavailable")};
  for (int attempt = 1; attempt <= 6; ++attempt) {
    auto totals = Commit(records, fail, attempt, FixedNow());
    ASSERT_TRUE(totals.ok()) << totals.status().ToString();
    EXPECT_EQ(totals->dead, 0);
  }
  // max_attempts is 3, but a row is sent until the destination confirms it.
  EXPECT_EQ(Q("SELECT attempts || status FROM bf_state.retry_queue"), "6pending");
  EXPECT_EQ(Q("SELECT next_attempt_at = '2026-03-01 12:00:03+00' FROM bf_state.retry_queue"), "t");
}

TEST_F(DeliveryStoreTest, PermanentFailureBacksOffThenGoesDead) {
  std::vector<Record> records = {MakeRecord("u1", "a@example.com", "1", "h1")};
  std::vector<RecordOutcome> fail = {Failed(OutcomeKind::kPermanent, "INVALID_FIELD", "no such field")};
  // max_attempts 3, backoff 1s, 2s, then capped at 3s.
  const char* expected_next[] = {"2026-03-01 12:00:01+00", "2026-03-01 12:00:02+00",
                                 "2026-03-01 12:00:03+00"};
  for (int attempt = 1; attempt <= 3; ++attempt) {
    auto totals = Commit(records, fail, attempt, FixedNow());
    ASSERT_TRUE(totals.ok()) << totals.status().ToString();
    EXPECT_EQ(N("SELECT attempts FROM bf_state.retry_queue WHERE warehouse_id = 'u1'"), attempt);
    EXPECT_EQ(Q(std::string("SELECT next_attempt_at = '") + expected_next[attempt - 1] +
                "' FROM bf_state.retry_queue"),
              "t")
        << "attempt " << attempt << ": " << Q("SELECT next_attempt_at FROM bf_state.retry_queue");
    EXPECT_EQ(Q("SELECT status FROM bf_state.retry_queue"), attempt < 3 ? "pending" : "dead");
    EXPECT_EQ(totals->dead, attempt < 3 ? 0 : 1);
  }
  // A 4th failure of the same version stays dead and keeps its backoff capped.
  ASSERT_TRUE(Commit(records, fail, 4, FixedNow()).ok());
  EXPECT_EQ(Q("SELECT attempts || status FROM bf_state.retry_queue"), "4dead");
  EXPECT_EQ(Q("SELECT last_run_id FROM bf_state.retry_queue"), "4");
}

TEST_F(DeliveryStoreTest, NewerVersionResetsAttempts) {
  std::vector<Record> v1 = {MakeRecord("u1", "a@example.com", "1", "h1")};
  std::vector<RecordOutcome> fail = {Failed(OutcomeKind::kPermanent, "INVALID", "bad")};
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Commit(v1, fail, 1, FixedNow()).ok());
  EXPECT_EQ(Q("SELECT attempts || status FROM bf_state.retry_queue"), "3dead");
  std::vector<Record> v2 = {MakeRecord("u1", "a@example.com", "2", "h2")};
  ASSERT_TRUE(Commit(v2, fail, 2, FixedNow()).ok());
  EXPECT_EQ(Q("SELECT attempts || status || row_hash FROM bf_state.retry_queue"), "1pendingh2");
}

TEST_F(DeliveryStoreTest, DeliveredRowLeavesTheQueue) {
  std::vector<Record> records = {MakeRecord("u1", "a@example.com", "1", "h1"),
                                 MakeRecord("u2", "b@example.com", "2", "h2")};
  std::vector<RecordOutcome> fail = {Failed(OutcomeKind::kRetryable, "HTTP_503", "x"),
                                     Failed(OutcomeKind::kRetryable, "HTTP_503", "x")};
  ASSERT_TRUE(Commit(records, fail, 1, FixedNow()).ok());
  EXPECT_EQ(N("SELECT count(*) FROM bf_state.retry_queue"), 2);
  std::vector<RecordOutcome> mixed = {Delivered("00Q1"), fail[1]};
  ASSERT_TRUE(Commit(records, mixed, 2, FixedNow()).ok());
  EXPECT_EQ(Q("SELECT string_agg(warehouse_id, ',') FROM bf_state.retry_queue"), "u2");
  EXPECT_EQ(Q("SELECT sync_status FROM bf_state.id_mappings WHERE warehouse_id = 'u1'"), "success");
  // The failure did not forget a destination id learnt earlier.
  std::vector<RecordOutcome> fail1 = {Failed(OutcomeKind::kRetryable, "HTTP_503", "x"), fail[1]};
  ASSERT_TRUE(Commit(records, fail1, 3, FixedNow()).ok());
  EXPECT_EQ(Q("SELECT destination_id || sync_status FROM bf_state.id_mappings "
              "WHERE warehouse_id = 'u1'"),
            "00Q1failed");
}

TEST_F(DeliveryStoreTest, PiiNeverStoredInClear) {
  std::vector<Record> records = {MakeRecord("u1", "secret.person@example.com", "1", "h1"),
                                 MakeRecord("u2", "other.person@example.com", "2", "h2")};
  std::vector<RecordOutcome> outcomes = {Delivered("00Q1"),
                                         Failed(OutcomeKind::kPermanent, "INVALID", "bad")};
  ASSERT_TRUE(Commit(records, outcomes, 1, FixedNow()).ok());
  const std::string expected = store_->HashPii("secret.person@example.com");
  EXPECT_EQ(expected.rfind("sha256:", 0), 0u);
  EXPECT_EQ(expected.size(), 7u + 64u);
  EXPECT_NE(expected, store_->HashPii("other.person@example.com"));
  EXPECT_EQ(Q("SELECT field_values->>'Email' FROM bf_state.change_log"), expected);
  EXPECT_EQ(Q("SELECT field_values->>'Email' FROM bf_state.row_state"), expected);
  EXPECT_EQ(Q("SELECT payload->>'Email' FROM bf_state.retry_queue"),
            store_->HashPii("other.person@example.com"));
  EXPECT_EQ(Q("SELECT field_values->>'Score' FROM bf_state.row_state"), "1");
  // No table of the state schema holds the address in clear.
  for (const char* table : {"change_log", "row_state", "retry_queue", "id_mappings"})
    EXPECT_EQ(N(std::string("SELECT count(*) FROM bf_state.") + table +
                " t WHERE t::text LIKE '%person@example.com%'"),
              0)
        << table;
  // The salt is part of the hash: a plain SHA-256 of the value does not match it.
  EXPECT_EQ(Q("SELECT 'sha256:' || encode(sha256(('" + Q("SELECT value FROM bf_state.meta") +
              "' || 'secret.person@example.com')::bytea), 'hex')"),
            expected);
  EXPECT_NE(Q("SELECT 'sha256:' || encode(sha256('secret.person@example.com'::bytea), 'hex')"),
            expected);
}

TEST_F(DeliveryStoreTest, DryRunWritesOnlyPlannedChangeLog) {
  std::vector<Record> records = {MakeRecord("u1", "a@example.com", "1", "h1"),
                                 MakeRecord("u2", "b@example.com", "2", "h2", true)};
  std::vector<RecordOutcome> outcomes = {Delivered(""), Delivered("")};
  auto totals = Commit(records, outcomes, 9, FixedNow(), /*dry_run=*/true);
  ASSERT_TRUE(totals.ok()) << totals.status().ToString();
  EXPECT_EQ(totals->created, 1);
  EXPECT_EQ(totals->updated, 1);
  EXPECT_EQ(N("SELECT count(*) FROM bf_state.change_log WHERE planned AND run_id = 9"), 2);
  EXPECT_EQ(Q("SELECT string_agg(operation, ',' ORDER BY warehouse_id) FROM bf_state.change_log"),
            "create,update");
  EXPECT_EQ(N("SELECT count(*) FROM bf_state.id_mappings"), 0);
  EXPECT_EQ(N("SELECT count(*) FROM bf_state.row_state"), 0);
  EXPECT_EQ(N("SELECT count(*) FROM bf_state.retry_queue"), 0);
}

TEST_F(DeliveryStoreTest, DestinationIdConflictIsResolved) {
  std::vector<Record> first = {MakeRecord("u1", "a@example.com", "1", "h1"),
                               MakeRecord("u2", "b@example.com", "2", "h2")};
  ASSERT_TRUE(Commit(first, {Delivered("00QA"), Delivered("00QB")}, 1, FixedNow()).ok());
  // The CRM merged u1 into u2's record: u3 (a re-keyed row) now gets 00QA, and within the
  // same batch u4 and u5 are both confirmed as 00QC.
  std::vector<Record> second = {MakeRecord("u3", "a@example.com", "1", "h3"),
                                MakeRecord("u4", "d@example.com", "4", "h4"),
                                MakeRecord("u5", "e@example.com", "5", "h5")};
  auto totals =
      Commit(second, {Delivered("00QA"), Delivered("00QC"), Delivered("00QC")}, 2, FixedNow());
  ASSERT_TRUE(totals.ok()) << totals.status().ToString();
  EXPECT_EQ(totals->delivered, 3);
  EXPECT_EQ(totals->remapped, 2);
  EXPECT_EQ(Q("SELECT destination_id FROM bf_state.id_mappings WHERE warehouse_id = 'u3'"), "00QA");
  EXPECT_EQ(Q("SELECT coalesce(destination_id, 'null') FROM bf_state.id_mappings "
              "WHERE warehouse_id = 'u1'"),
            "null");
  EXPECT_EQ(Q("SELECT destination_id FROM bf_state.id_mappings WHERE warehouse_id = 'u5'"), "00QC");
  EXPECT_EQ(Q("SELECT coalesce(destination_id, 'null') FROM bf_state.id_mappings "
              "WHERE warehouse_id = 'u4'"),
            "null");
  EXPECT_EQ(N("SELECT count(*) FROM bf_state.row_state"), 5);
  // Swapping ids between two records also commits.
  auto swap = Commit({first[0], first[1]}, {Delivered("00QB"), Delivered("00QA")}, 3, FixedNow());
  ASSERT_TRUE(swap.ok()) << swap.status().ToString();
  EXPECT_EQ(Q("SELECT destination_id FROM bf_state.id_mappings WHERE warehouse_id = 'u1'"), "00QB");
  EXPECT_EQ(Q("SELECT destination_id FROM bf_state.id_mappings WHERE warehouse_id = 'u2'"), "00QA");
}

TEST_F(DeliveryStoreTest, LargeBatchIsOneTransaction) {
  std::vector<Record> records;
  std::vector<RecordOutcome> outcomes;
  for (int i = 0; i < 5000; ++i) {
    records.push_back(MakeRecord("w" + std::to_string(i), "p" + std::to_string(i) + "@example.com",
                                 std::to_string(i % 100), "h" + std::to_string(i)));
    outcomes.push_back(i % 10 == 0 ? Failed(OutcomeKind::kRetryable, "HTTP_503", "x")
                                   : Delivered("id" + std::to_string(i), true));
  }
  auto start = std::chrono::steady_clock::now();
  auto totals = Commit(records, outcomes, 1, FixedNow());
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(totals.ok()) << totals.status().ToString();
  EXPECT_EQ(totals->delivered, 4500);
  EXPECT_EQ(totals->failed, 500);
  EXPECT_LT(elapsed, std::chrono::seconds(10));
  EXPECT_EQ(N("SELECT count(*) FROM bf_state.row_state"), 4500);
  EXPECT_EQ(N("SELECT count(*) FROM bf_state.change_log"), 4500);
  EXPECT_EQ(N("SELECT count(*) FROM bf_state.retry_queue"), 500);
  EXPECT_EQ(N("SELECT count(*) FROM bf_state.id_mappings"), 5000);
  // Every row was written by the same transaction: a fresh group's mappings and state
  // by one savepoint in it (a subtransaction, with an xid of its own), the log and the
  // queue by the transaction itself.
  EXPECT_EQ(N("SELECT count(DISTINCT xid) FROM (SELECT xmin::text AS xid FROM bf_state.row_state "
              "UNION ALL SELECT xmin::text FROM bf_state.id_mappings) t"),
            1);
  EXPECT_EQ(N("SELECT count(DISTINCT xid) FROM (SELECT xmin::text AS xid FROM bf_state.change_log "
              "UNION ALL SELECT xmin::text FROM bf_state.retry_queue) t"),
            1);
  EXPECT_EQ(N("SELECT count(DISTINCT xid) FROM (SELECT xmin::text AS xid FROM bf_state.row_state "
              "UNION ALL SELECT xmin::text FROM bf_state.change_log) t"),
            2);
}

TEST_F(DeliveryStoreTest, AnalyzeSkipsATableAutovacuumHoldsInsteadOfWaiting) {
  std::vector<Record> records = {MakeRecord("u1", "ann@example.com", "90", "h1"),
                                 MakeRecord("u2", "bob@example.com", "40", "h2")};
  ASSERT_TRUE(Commit(records, {Delivered("00Q1", true), Delivered("00Q2", true)}, 1, FixedNow())
                  .ok());
  // What autovacuum holds while it processes row_state (and what ANALYZE needs).
  pqxx::connection other(db_.dsn());
  pqxx::work hold(other);
  hold.exec("LOCK TABLE bf_state.row_state IN SHARE UPDATE EXCLUSIVE MODE");
  auto analyzed = std::async(std::launch::async, [&] { return store_->Analyze(); });
  const bool finished = analyzed.wait_for(std::chrono::seconds(20)) == std::future_status::ready;
  hold.abort();  // lets a waiting ANALYZE finish either way
  ASSERT_TRUE(finished) << "ANALYZE waited for the lock";
  const Status st = analyzed.get();
  EXPECT_TRUE(st.ok()) << st.ToString();
  // id_mappings got its statistics; row_state (skipped) still has none (-1: never analyzed).
  const std::string tuples = "SELECT reltuples::bigint FROM pg_class WHERE oid = ";
  EXPECT_EQ(Q(tuples + "'bf_state.id_mappings'::regclass"), "2");
  EXPECT_EQ(Q(tuples + "'bf_state.row_state'::regclass"), "-1");
}

TEST_F(DeliveryStoreTest, DeletesAndCursor) {
  std::vector<Record> records = {MakeRecord("u1", "a@example.com", "1", "h1"),
                                 MakeRecord("u2", "b@example.com", "2", "h2")};
  ASSERT_TRUE(Commit(records, {Delivered("00Q1"), Delivered("00Q2")}, 1, FixedNow()).ok());
  ASSERT_TRUE(store_->CommitDeletes(sync_, dest_, 2, {"u1"}, FixedNow()).ok());
  EXPECT_EQ(Q("SELECT sync_status FROM bf_state.id_mappings WHERE warehouse_id = 'u1'"), "deleted");
  EXPECT_EQ(Q("SELECT sync_status FROM bf_state.id_mappings WHERE warehouse_id = 'u2'"), "success");
  EXPECT_EQ(Q("SELECT string_agg(warehouse_id, ',') FROM bf_state.row_state"), "u2");
  EXPECT_EQ(Q("SELECT operation || ':' || destination_id || ':' || run_id FROM bf_state.change_log "
              "WHERE operation = 'delete'"),
            "delete:00Q1:2");

  ASSERT_TRUE(store_->SaveCursor("lead_scores", "2026-03-01 00:00:00+00").ok());
  ASSERT_TRUE(store_->SaveCursor("lead_scores", "2026-03-02 00:00:00+00").ok());
  EXPECT_EQ(Q("SELECT cursor FROM bf_state.sync_cursors WHERE sync_name = 'lead_scores'"),
            "2026-03-02 00:00:00+00");
}

// Values reach the staging COPY and JSON as they are: quotes, backslashes, tabs, newlines,
// control characters and non-ASCII text survive, and an empty string stays a string.
TEST_F(DeliveryStoreTest, ValuesSurviveStagingUnchanged) {
  const std::string tricky = "a\"b\\c\td\ne\r\x01 \xc3\xa9\xe2\x82\xac \\N";
  // Email is PII in the fixture (stored hashed), so the tricky text goes in Score.
  std::vector<Record> records = {MakeRecord("u\t1", "", tricky, "h\\1")};
  records[0].values[0] = FieldValue{};  // null
  records[0].changed_fields = {"Email", "Score", "Gone"};
  std::vector<RecordOutcome> outcomes = {Delivered("id\\x")};
  auto totals = Commit(records, outcomes, 1, FixedNow());
  ASSERT_TRUE(totals.ok()) << totals.status().ToString();
  EXPECT_EQ(Q("SELECT field_values->>'Score' FROM bf_state.row_state"), tricky);
  EXPECT_EQ(Q("SELECT field_values->'Email' = 'null'::jsonb FROM bf_state.row_state"), "t");
  EXPECT_EQ(Q("SELECT warehouse_id || '|' || row_hash FROM bf_state.row_state"), "u\t1|h\\1");
  EXPECT_EQ(Q("SELECT destination_id FROM bf_state.id_mappings"), "id\\x");
  EXPECT_EQ(Q("SELECT field_values->>'Score' FROM bf_state.change_log"), tricky);
  // A changed field the batch holds no value for is logged as null.
  EXPECT_EQ(Q("SELECT array_to_string(changed_fields, ',') || '|' || "
              "(field_values ? 'Gone')::text || (field_values->'Gone' = 'null'::jsonb)::text "
              "FROM bf_state.change_log"),
            "Email,Score,Gone|truetrue");
}

TEST_F(DeliveryStoreTest, MismatchedOutcomesAreRejected) {
  std::vector<Record> records = {MakeRecord("u1", "a@example.com", "1", "h1")};
  auto totals = Commit(records, {}, 1, FixedNow());
  EXPECT_EQ(totals.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace backflow::testing
