#include "state/run_store.h"

#include <gtest/gtest.h>

#include "state_fixture.h"

namespace backflow::testing {
namespace {

using RunStoreTest = StateTest;

RunRecord NewRun(const std::string& sync, WallTime started) {
  RunRecord r;
  r.sync_name = sync;
  r.destination = "sfdc";
  r.started_at = started;
  return r;
}

TEST_F(RunStoreTest, StartFinishRecent) {
  RunStore runs(conn_.get(), kSchema);
  RunRecord run = NewRun("lead_scores", FixedNow());
  ASSERT_TRUE(runs.Start(&run).ok());
  EXPECT_GT(run.run_id, 0);
  EXPECT_EQ(Q("SELECT status FROM bf_state.sync_runs WHERE run_id = " + std::to_string(run.run_id)),
            "running");
  EXPECT_FALSE(Q("SELECT host FROM bf_state.sync_runs").empty());

  run.status = "partial";
  run.counts.rows_read = 10;
  run.counts.rows_attempted = 7;
  run.counts.rows_succeeded = 5;
  run.counts.rows_failed = 2;
  run.counts.api_requests = 3;
  run.error_summary = {{"INVALID_EMAIL", 2}};
  run.finished_at = FixedNow() + std::chrono::seconds(30);
  run.message = "2 rows failed.";
  ASSERT_TRUE(runs.Finish(run).ok());

  RunRecord later = NewRun("lead_scores", FixedNow() + std::chrono::minutes(15));
  ASSERT_TRUE(runs.Start(&later).ok());
  RunRecord other = NewRun("churn", FixedNow());
  ASSERT_TRUE(runs.Start(&other).ok());

  auto recent = runs.Recent("lead_scores", 10);
  ASSERT_TRUE(recent.ok()) << recent.status().ToString();
  ASSERT_EQ(recent->size(), 2u);
  EXPECT_EQ((*recent)[0].run_id, later.run_id);
  const RunRecord& got = (*recent)[1];
  EXPECT_EQ(got.status, "partial");
  EXPECT_EQ(got.started_at, FixedNow());
  ASSERT_TRUE(got.finished_at.has_value());
  EXPECT_EQ(*got.finished_at, FixedNow() + std::chrono::seconds(30));
  EXPECT_EQ(got.counts.rows_attempted, 7);
  EXPECT_EQ(got.counts.rows_failed, 2);
  EXPECT_EQ(got.counts.api_requests, 3);
  EXPECT_EQ(got.error_summary.at("INVALID_EMAIL"), 2);
  EXPECT_EQ(got.message, "2 rows failed.");

  auto all = runs.Recent("", 10);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 3u);
  auto one = runs.Recent("", 1);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->size(), 1u);
}

TEST_F(RunStoreTest, UnsetStartUsesDatabaseNow) {
  RunStore runs(conn_.get(), kSchema);
  RunRecord run;
  run.sync_name = "s";
  run.destination = "d";
  ASSERT_TRUE(runs.Start(&run).ok());
  EXPECT_GT(run.started_at, WallTime{} + std::chrono::hours(24 * 365 * 50));
}

TEST_F(RunStoreTest, FinishUnknownRunIsNotFound) {
  RunStore runs(conn_.get(), kSchema);
  RunRecord run = NewRun("s", FixedNow());
  run.run_id = 4242;
  run.status = "succeeded";
  Status st = runs.Finish(run);
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
}

TEST_F(RunStoreTest, CloseAbandonedOnlyTouchesRunningRunsOfTheSync) {
  RunStore runs(conn_.get(), kSchema);
  RunRecord a = NewRun("lead_scores", FixedNow());
  RunRecord b = NewRun("lead_scores", FixedNow());
  RunRecord c = NewRun("churn", FixedNow());
  ASSERT_TRUE(runs.Start(&a).ok());
  ASSERT_TRUE(runs.Start(&b).ok());
  ASSERT_TRUE(runs.Start(&c).ok());
  b.status = "succeeded";
  ASSERT_TRUE(runs.Finish(b).ok());

  auto closed = runs.CloseAbandoned("lead_scores");
  ASSERT_TRUE(closed.ok());
  EXPECT_EQ(*closed, 1);
  EXPECT_EQ(Q("SELECT status FROM bf_state.sync_runs WHERE run_id = " + std::to_string(a.run_id)),
            "failed");
  EXPECT_NE(Q("SELECT message FROM bf_state.sync_runs WHERE run_id = " + std::to_string(a.run_id)),
            "");
  EXPECT_EQ(Q("SELECT status FROM bf_state.sync_runs WHERE run_id = " + std::to_string(b.run_id)),
            "succeeded");
  EXPECT_EQ(Q("SELECT status FROM bf_state.sync_runs WHERE run_id = " + std::to_string(c.run_id)),
            "running");
  auto again = runs.CloseAbandoned("lead_scores");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0);
}

}  // namespace
}  // namespace backflow::testing
