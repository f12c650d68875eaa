#include "state/state_reader.h"

#include <gtest/gtest.h>

#include "state/run_store.h"
#include "state_fixture.h"

namespace backflow::testing {
namespace {

class StateReaderTest : public StateTest {
 protected:
  // A finished run that started `ago` before the database's now().
  long long AddRun(const std::string& sync, const std::string& status, long long attempted,
                   long long succeeded, std::map<std::string, long long> errors,
                   std::chrono::minutes ago, const std::string& kind = "sync") {
    RunStore runs(conn_.get(), kSchema);
    RunRecord r;
    r.sync_name = sync;
    r.destination = "sfdc";
    r.kind = kind;
    r.started_at = std::chrono::time_point_cast<WallTime::duration>(
        sql_now_ - std::chrono::duration_cast<WallTime::duration>(ago));
    EXPECT_TRUE(runs.Start(&r).ok());
    r.status = status;
    r.counts.rows_attempted = attempted;
    r.counts.rows_succeeded = succeeded;
    r.counts.rows_failed = attempted - succeeded;
    r.error_summary = std::move(errors);
    r.finished_at = r.started_at + std::chrono::seconds(10);
    if (status == "blocked") r.message = "contract: 40% of rows invalid (max 1%).";
    EXPECT_TRUE(runs.Finish(r).ok());
    return r.run_id;
  }
  void SetUp() override {
    StateTest::SetUp();
    sql_now_ = WallTime(std::chrono::microseconds(
        std::stoll(Q("SELECT (extract(epoch FROM now()) * 1000000)::bigint"))));
  }
  WallTime sql_now_;
};

TEST_F(StateReaderTest, RunsTotalsReasonsAndBlocked) {
  AddRun("lead_scores", "succeeded", 10, 10, {}, std::chrono::minutes(90));
  AddRun("lead_scores", "partial", 10, 7, {{"INVALID_EMAIL", 2}, {"HTTP_503", 1}},
         std::chrono::minutes(60));
  AddRun("lead_scores", "partial", 5, 3, {{"INVALID_EMAIL", 2}}, std::chrono::minutes(30));
  AddRun("lead_scores", "planned", 0, 0, {}, std::chrono::minutes(20), "plan");
  long long blocked = AddRun("churn", "blocked", 0, 0, {}, std::chrono::minutes(10));

  StateReader reader(conn_.get(), kSchema);
  auto recent = reader.RecentRuns("", 2);
  ASSERT_TRUE(recent.ok()) << recent.status().ToString();
  ASSERT_EQ(recent->size(), 3u);  // churn's one + lead_scores' newest two
  EXPECT_EQ((*recent)[0].sync_name, "churn");
  EXPECT_EQ((*recent)[1].kind, "plan");
  EXPECT_EQ((*recent)[2].status, "partial");

  auto totals = reader.Totals();
  ASSERT_TRUE(totals.ok()) << totals.status().ToString();
  ASSERT_EQ(totals->size(), 2u);
  const SyncTotals& lead = (*totals)[1];
  EXPECT_EQ(lead.sync_name, "lead_scores");
  EXPECT_EQ(lead.runs, 3);  // the plan does not count
  EXPECT_EQ(lead.succeeded_runs, 1);
  EXPECT_EQ(lead.partial_runs, 2);
  EXPECT_EQ(lead.rows_attempted, 25);
  EXPECT_EQ(lead.rows_succeeded, 20);
  EXPECT_EQ(lead.rows_failed, 5);
  EXPECT_EQ(lead.last_status, "partial");
  EXPECT_EQ((*totals)[0].blocked_runs, 1);

  auto reasons = reader.TopFailureReasons("lead_scores", 10, 5);
  ASSERT_TRUE(reasons.ok()) << reasons.status().ToString();
  ASSERT_EQ(reasons->size(), 2u);
  EXPECT_EQ((*reasons)[0].reason, "INVALID_EMAIL");
  EXPECT_EQ((*reasons)[0].count, 4);
  EXPECT_EQ((*reasons)[1].reason, "HTTP_503");
  // Only the newest run (plans are not runs here): HTTP_503 is gone.
  auto newest = reader.TopFailureReasons("lead_scores", 1, 5);
  ASSERT_TRUE(newest.ok());
  ASSERT_EQ(newest->size(), 1u);
  EXPECT_EQ((*newest)[0].count, 2);

  auto blocked_runs = reader.BlockedRuns("", 5);
  ASSERT_TRUE(blocked_runs.ok());
  ASSERT_EQ(blocked_runs->size(), 1u);
  EXPECT_EQ((*blocked_runs)[0].run_id, blocked);
  EXPECT_NE((*blocked_runs)[0].message.find("contract"), std::string::npos);
}

TEST_F(StateReaderTest, ChangesCarryNoValues) {
  std::vector<Record> records = {MakeRecord("u1", "a@example.com", "1", "h1"),
                                 MakeRecord("u2", "b@example.com", "2", "h2", true)};
  records[1].changed_fields = {"Score"};
  ASSERT_TRUE(Commit(records, {Delivered("00Q1", true), Delivered("00Q2")}, 1, FixedNow()).ok());
  ASSERT_TRUE(Commit({records[0]}, {Delivered("")}, 2, FixedNow() + std::chrono::minutes(1),
                     /*dry_run=*/true)
                  .ok());
  StateReader reader(conn_.get(), kSchema);
  auto changes = reader.RecentChanges("lead_scores", 10);
  ASSERT_TRUE(changes.ok()) << changes.status().ToString();
  ASSERT_EQ(changes->size(), 3u);
  EXPECT_TRUE((*changes)[0].planned);
  EXPECT_EQ((*changes)[0].sent_at, FixedNow() + std::chrono::minutes(1));
  const ChangeEntry& u2 = (*changes)[1].warehouse_id == "u2" ? (*changes)[1] : (*changes)[2];
  EXPECT_EQ(u2.operation, "update");
  EXPECT_EQ(u2.destination_id, "00Q2");
  EXPECT_EQ(u2.changed_fields, std::vector<std::string>{"Score"});
  EXPECT_FALSE(u2.planned);
}

TEST_F(StateReaderTest, ViewsReturnSensibleNumbers) {
  AddRun("lead_scores", "succeeded", 10, 10, {}, std::chrono::minutes(3));
  AddRun("lead_scores", "partial", 10, 6, {{"INVALID_EMAIL", 4}}, std::chrono::minutes(2));
  AddRun("lead_scores", "planned", 99, 0, {{"IGNORED", 1}}, std::chrono::minutes(1), "plan");
  AddRun("lead_scores", "failed", 0, 0, {{"OLD", 5}}, std::chrono::minutes(60 * 24 * 10));

  // Only today's runs, and the run two minutes ago may have started yesterday.
  EXPECT_EQ(Q("SELECT sum(runs) || '/' || sum(succeeded_runs) || '/' || sum(rows_attempted) || '/' "
              "|| sum(rows_succeeded) || '/' || sum(rows_failed) FROM bf_state.v_runs_daily "
              "WHERE day >= (now() AT TIME ZONE 'UTC')::date - 1"),
            "2/1/20/16/4");
  EXPECT_EQ(N("SELECT sum(runs) FROM bf_state.v_runs_daily"), 3);
  EXPECT_EQ(Q("SELECT success_rate FROM bf_state.v_runs_daily WHERE runs = 1 AND "
              "rows_attempted = 0"),
            "0.0000");
  EXPECT_EQ(Q("SELECT round(sum(rows_succeeded)::numeric / sum(rows_attempted), 2) "
              "FROM bf_state.v_runs_daily"),
            "0.80");

  // Failure reasons of the last week's runs; plans do not count.
  EXPECT_EQ(Q("SELECT count FROM bf_state.v_failure_reasons WHERE reason = 'INVALID_EMAIL'"), "4");
  EXPECT_EQ(N("SELECT count(*) FROM bf_state.v_failure_reasons WHERE reason IN ('OLD', 'IGNORED')"),
            0);

  std::vector<Record> records = {MakeRecord("u1", "a@example.com", "1", "h1"),
                                 MakeRecord("u2", "b@example.com", "2", "h2"),
                                 MakeRecord("u3", "c@example.com", "3", "h3")};
  ASSERT_TRUE(Commit(records,
                     {Delivered("00Q1", true), Failed(OutcomeKind::kRetryable, "HTTP_503", "x"),
                      Failed(OutcomeKind::kRetryable, "HTTP_503", "x")},
                     1, FixedNow())
                  .ok());
  EXPECT_EQ(Q("SELECT operation || ':' || destination || ':' || sync_name || ':' || "
              "array_to_string(changed_fields, ',') || ':' || planned FROM bf_state.v_change_log"),
            "create:sfdc:lead_scores:Email,Score:false");
  EXPECT_EQ(N("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'bf_state' "
              "AND table_name = 'v_change_log' AND column_name = 'field_values'"),
            0);
  EXPECT_EQ(Q("SELECT status || ':' || count || ':' || due_now || ':' || "
              "(next_due = '2026-03-01 12:00:01+00') FROM bf_state.v_retry_queue"),
            "pending:2:2:true");
}

}  // namespace
}  // namespace backflow::testing
