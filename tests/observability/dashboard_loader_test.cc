#include <gtest/gtest.h>

#include "observability/dashboard.h"
#include "observability/dashboard_data.h"
#include "observability/status_format.h"
#include "state/migrations.h"
#include "support/test_postgres.h"

namespace backflow {
namespace {

Config TwoSyncs() {
  Config c;
  c.destinations["sfdc"].name = "sfdc";
  c.destinations["sfdc"].type = "salesforce";
  c.destinations["hubspot"].name = "hubspot";
  c.destinations["hubspot"].type = "hubspot";
  SyncConfig leads;
  leads.name = "lead_scores";
  leads.moment = "Route high-intent leads to the enterprise queue";
  leads.destination = "sfdc";
  leads.object = "Lead";
  c.syncs["lead_scores"] = leads;
  SyncConfig ltv;
  ltv.name = "contacts_ltv";
  ltv.moment = "Suppress low-LTV contacts";
  ltv.destination = "hubspot";
  ltv.object = "contacts";
  c.syncs["contacts_ltv"] = ltv;
  return c;
}

class DashboardLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto conn = PgConnection::Open(Secret(db_.dsn()));
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    conn_ = std::move(*conn);
    ASSERT_TRUE(Migrate(*conn_, "backflow").ok());
    db_.Exec(R"SQL(
      INSERT INTO backflow.sync_runs (sync_name, destination, kind, started_at, finished_at,
        status, rows_read, rows_changed, rows_attempted, rows_succeeded, rows_failed,
        rows_rejected, api_requests, error_summary, message) VALUES
      ('lead_scores', 'sfdc', 'sync', '2024-05-01T09:45:00Z', '2024-05-01T09:46:00Z',
        'succeeded', 5000, 120, 120, 120, 0, 0, 1, '{}', NULL),
      ('lead_scores', 'sfdc', 'plan', '2024-05-01T09:50:00Z', '2024-05-01T09:50:05Z',
        'planned', 5000, 30, 0, 0, 0, 0, 0, '{}', NULL),
      ('lead_scores', 'sfdc', 'sync', '2024-05-01T10:00:00Z', '2024-05-01T10:01:00Z',
        'partial', 5200, 5000, 5000, 4980, 20, 3, 25,
        '{"INVALID_EMAIL_ADDRESS": 15, "contract:Email:type": 3, "REQUIRED_FIELD_MISSING": 5}', NULL),
      ('contacts_ltv', 'hubspot', 'sync', '2024-05-01T10:02:00Z', '2024-05-01T10:02:01Z',
        'blocked', 1000, 0, 0, 0, 0, 900, 0, '{}', '900 of 1000 changed rows break the contract');
      INSERT INTO backflow.retry_queue (sync_name, warehouse_id, destination, row_hash,
        next_attempt_at, last_error, status) VALUES
      ('lead_scores', 'u_17', 'sfdc', 'h', now(), 'INVALID_EMAIL_ADDRESS', 'pending'),
      ('lead_scores', 'u_18', 'sfdc', 'h', now(), 'REQUIRED_FIELD_MISSING', 'dead');
      INSERT INTO backflow.rejected_rows (run_id, sync_name, warehouse_id, reasons) VALUES
      (3, 'lead_scores', 'u_99', '[{"field":"Email","rule":"type","detail":"not an email"}]');
    )SQL");
  }

  testing::TestDatabase db_;
  std::unique_ptr<PgConnection> conn_;
};

TEST_F(DashboardLoaderTest, FillsRunsFailuresAndRetryDepthFromTheStateSchema) {
  const WallTime now = WallTime(std::chrono::seconds(1714557900));
  DashboardLoadOptions o;
  o.next_run = [now](const SyncConfig& s) -> std::optional<WallTime> {
    if (s.name == "lead_scores") return now + std::chrono::minutes(10);
    return std::nullopt;
  };
  o.paused["hubspot"] = "daily quota";
  auto data = LoadDashboardData(*conn_, "backflow", TwoSyncs(), now, o);
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  ASSERT_EQ(data->destinations.size(), 2u);
  const DestinationView& hub = data->destinations[0];  // by name: hubspot, sfdc
  const DestinationView& sfdc = data->destinations[1];
  EXPECT_EQ(hub.name, "hubspot");
  EXPECT_TRUE(hub.paused);
  EXPECT_EQ(hub.paused_reason, "daily quota");
  ASSERT_EQ(hub.syncs.size(), 1u);
  ASSERT_EQ(hub.syncs[0].recent_runs.size(), 1u);
  EXPECT_EQ(hub.syncs[0].recent_runs[0].status, "blocked");
  EXPECT_EQ(hub.syncs[0].recent_runs[0].message, "900 of 1000 changed rows break the contract");

  ASSERT_EQ(sfdc.syncs.size(), 1u);
  const SyncView& s = sfdc.syncs[0];
  EXPECT_EQ(s.moment, "Route high-intent leads to the enterprise queue");
  ASSERT_EQ(s.recent_runs.size(), 2u);  // the plan is left out
  EXPECT_EQ(s.recent_runs[0].status, "partial");
  EXPECT_EQ(s.recent_runs[0].attempted, 5000);
  EXPECT_EQ(s.recent_runs[0].succeeded, 4980);
  EXPECT_EQ(s.recent_runs[0].failed, 20);
  EXPECT_EQ(s.recent_runs[0].rejected, 3);
  EXPECT_EQ(FormatWallTime(s.recent_runs[0].started_at), "2024-05-01T10:00:00Z");
  ASSERT_TRUE(s.recent_runs[0].finished_at.has_value());
  EXPECT_EQ(s.recent_runs[1].status, "succeeded");
  ASSERT_EQ(s.top_failures.size(), 3u);
  EXPECT_EQ(s.top_failures[0].reason, "INVALID_EMAIL_ADDRESS");
  EXPECT_EQ(s.top_failures[0].count, 15);
  EXPECT_EQ(s.top_failures[0].example, "u_17");
  EXPECT_EQ(s.top_failures[1].reason, "REQUIRED_FIELD_MISSING");
  EXPECT_EQ(s.top_failures[1].example, "u_18");
  EXPECT_EQ(s.top_failures[2].reason, "contract:Email:type");
  EXPECT_EQ(s.top_failures[2].example, "u_99");
  EXPECT_EQ(s.retry_pending, 1);
  EXPECT_EQ(s.retry_dead, 1);
  ASSERT_TRUE(s.next_run.has_value());

  // And it renders.
  EXPECT_NE(RenderDashboard(*data).find("4,980 of 5,000"), std::string::npos);
  EXPECT_NE(FormatStatusTable(*data).find("1 pending, 1 dead"), std::string::npos);
}

TEST_F(DashboardLoaderTest, UnreachableWarehouseIsAStatus) {
  auto conn = PgConnection::Open(Secret(db_.dsn()));
  ASSERT_TRUE(conn.ok());
  auto data = LoadDashboardData(**conn, "no_such_schema", TwoSyncs(), WallTime{});
  EXPECT_FALSE(data.ok());
}

}  // namespace
}  // namespace backflow
