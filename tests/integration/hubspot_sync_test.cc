// Issue 2's end-to-end checks: Postgres deltas -> id_mappings -> HubSpot batch upsert,
// against a real Postgres and the in-process HubSpot emulator.
#include <nlohmann/json.hpp>

#include "integration/harness.h"

namespace backflow::testing {
namespace {

constexpr const char* kConfig = R"(
warehouse:
  dsn: "${DSN}"
destinations:
  hubspot:
    type: hubspot
    base_url: "${SANDBOX}"
    token: sandbox-hubspot-token
    rate_limit: { requests: 100, per: 10s }
    retry: { max_attempts: 4, initial_backoff: 100ms, max_backoff: 2s }
syncs:
  contacts:
    moment: "Score-based routing in HubSpot workflows"
    destination: hubspot
    object: contacts
    model: { table: analytics.contacts }
    primary_key: user_id
    match: { id_property: warehouse_id }
    fields:
      warehouse_id: user_id
      email: email
      lead_score: score
      lifecyclestage: stage
    STRATEGY
)";

class HubSpotSync : public Harness {
 protected:
  void Seed(int n) {
    db_.Exec("CREATE SCHEMA analytics; CREATE TABLE analytics.contacts (user_id text PRIMARY KEY, "
             "email text, score int, stage text, updated_at timestamptz NOT NULL DEFAULT now());"
             "INSERT INTO analytics.contacts SELECT 'user_' || i, 'u' || i || '@example.com', "
             "i % 100, 'lead', now() - interval '2 hours' FROM generate_series(1, " +
             std::to_string(n) + ") i;");
  }
  void Use(const std::string& strategy = "") {
    std::string yaml = kConfig;
    yaml.replace(yaml.find("STRATEGY"), 8, strategy);
    Configure(yaml);
  }
  nlohmann::json Records() { return sandbox_->Find("hubspot")->Records(); }
  size_t RecordCount() {
    auto r = Records();
    return r.contains("contacts") ? r["contacts"].size() : 0;
  }
};

TEST_F(HubSpotSync, FirstSyncCreatesEveryRecordAndItsMapping) {
  Seed(1000);
  Use();
  RunReport r = Sync("contacts");
  ASSERT_EQ(r.exit_code, kExitOk) << r.status.ToString();
  EXPECT_EQ(r.run.status, "succeeded");
  EXPECT_EQ(RecordCount(), 1000u);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.id_mappings WHERE destination_system = "
                  "'hubspot' AND object_type = 'contacts' AND destination_id IS NOT NULL AND "
                  "sync_status = 'success'"),
            1000);
  // Every mapping carries the hs_object_id HubSpot gave that very record.
  std::map<std::string, std::string> hs_id_by_wid;
  const nlohmann::json records = Records();
  for (const auto& o : records["contacts"])
    hs_id_by_wid[o["properties"]["warehouse_id"].get<std::string>()] = o["id"].get<std::string>();
  EXPECT_EQ(hs_id_by_wid.size(), 1000u);
  for (const char* wid : {"user_1", "user_500", "user_1000"})
    EXPECT_EQ(db_.Scalar(std::string("SELECT destination_id FROM backflow.id_mappings WHERE "
                                     "warehouse_id = '") + wid + "'"),
              hs_id_by_wid[wid]);
  // The run's counts add up: read = unchanged + changed; attempted = succeeded + failed.
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.sync_runs WHERE rows_read = 1000 AND "
                  "rows_changed = 1000 AND rows_attempted = 1000 AND rows_succeeded = 1000 AND "
                  "rows_failed = 0 AND api_requests = 10 AND status = 'succeeded'"),
            1);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.change_log WHERE operation = 'create'"), 1000);
}

TEST_F(HubSpotSync, AnUnchangedModelSendsNoWriteRequest) {
  Seed(300);
  Use();
  ASSERT_EQ(Sync("contacts").exit_code, kExitOk);
  long long writes = sandbox_->WriteRequests("hubspot");
  RunReport again = Sync("contacts");
  EXPECT_EQ(again.exit_code, kExitOk);
  EXPECT_EQ(sandbox_->WriteRequests("hubspot"), writes);
  EXPECT_EQ(again.run.counts.rows_read, 300);
  EXPECT_EQ(again.run.counts.rows_changed, 0);
  EXPECT_EQ(again.run.counts.api_requests, 0);
}

TEST_F(HubSpotSync, ChangingKRowsSendsExactlyThoseK) {
  Seed(500);
  Use();
  ASSERT_EQ(Sync("contacts").exit_code, kExitOk);
  db_.Exec("UPDATE analytics.contacts SET score = -1 WHERE user_id IN "
           "('user_3','user_30','user_77','user_200','user_301','user_420','user_499')");
  long long writes = sandbox_->WriteRequests("hubspot");
  RunReport r = Sync("contacts");
  ASSERT_EQ(r.exit_code, kExitOk);
  EXPECT_EQ(r.run.counts.rows_changed, 7);
  EXPECT_EQ(r.run.counts.rows_attempted, 7);
  EXPECT_EQ(sandbox_->WriteRequests("hubspot"), writes + 1);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.change_log WHERE run_id = " +
                  std::to_string(r.run.run_id) +
                  " AND operation = 'update' AND changed_fields = ARRAY['lead_score']"),
            7);
  EXPECT_EQ(RecordCount(), 500u);  // updated in place, no duplicates
  const nlohmann::json records = Records();
  int seen = 0;
  for (const auto& o : records["contacts"])
    if (o["properties"]["warehouse_id"] == "user_77") {
      EXPECT_EQ(o["properties"]["lead_score"], "-1");
      ++seen;
    }
  EXPECT_EQ(seen, 1);
}

TEST_F(HubSpotSync, ARecordHubSpotRejectsIsQueuedWhileItsBatchMatesAreDelivered) {
  Seed(150);
  db_.Exec("UPDATE analytics.contacts SET stage = '__reject__' WHERE user_id = 'user_42'");
  Use();
  RunReport r = Sync("contacts");
  EXPECT_EQ(r.exit_code, kExitPartial);
  EXPECT_EQ(r.run.status, "partial");
  EXPECT_EQ(r.run.counts.rows_succeeded, 149);
  EXPECT_EQ(r.run.counts.rows_failed, 1);
  EXPECT_EQ(RecordCount(), 149u);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.retry_queue WHERE warehouse_id = 'user_42' AND "
                  "status = 'pending' AND attempts = 1 AND last_error <> '' AND "
                  "error_category <> ''"),
            1);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.retry_queue"), 1);
  // Fixed upstream: the newer version is delivered and leaves the queue.
  db_.Exec("UPDATE analytics.contacts SET stage = 'lead' WHERE user_id = 'user_42'");
  RunReport fixed = Sync("contacts");
  EXPECT_EQ(fixed.exit_code, kExitOk);
  EXPECT_EQ(fixed.run.counts.rows_succeeded, 1);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.retry_queue"), 0);
  EXPECT_EQ(RecordCount(), 150u);
}

TEST_F(HubSpotSync, LateRowsInsideTheLookbackAreSentOnce) {
  Seed(200);
  Use("change_detection: { strategy: updated_at, column: updated_at, lookback: 3h }");
  ASSERT_EQ(Sync("contacts").exit_code, kExitOk);
  // A row that arrives late: its updated_at is older than the cursor, inside the lookback.
  db_.Exec("INSERT INTO analytics.contacts VALUES ('user_late', 'late@example.com', 5, 'lead', "
           "now() - interval '150 minutes')");
  RunReport r = Sync("contacts");
  ASSERT_EQ(r.exit_code, kExitOk);
  EXPECT_EQ(r.run.counts.rows_attempted, 1);
  EXPECT_EQ(RecordCount(), 201u);
  // Re-read inside the window, unchanged: not sent again.
  long long writes = sandbox_->WriteRequests("hubspot");
  RunReport again = Sync("contacts");
  EXPECT_EQ(again.run.counts.rows_attempted, 0);
  EXPECT_EQ(sandbox_->WriteRequests("hubspot"), writes);
}

TEST_F(HubSpotSync, A429StormDelaysTheRunButLosesNothing) {
  Seed(500);
  Use();
  sandbox::FaultSpec faults;
  for (int i = 0; i < 4; ++i) {
    sandbox::ScriptedAnswer a;
    a.status = 429;
    a.body = R"({"status":"error","message":"You have reached your ten_secondly_rolling limit.",)"
             R"("errorType":"RATE_LIMIT","policyName":"TEN_SECONDLY_ROLLING","correlationId":"x"})";
    a.headers = {{"Content-Type", "application/json"}};
    faults.script.push_back(a);
  }
  sandbox_->SetFaults("hubspot", faults);
  RunReport r = Sync("contacts");
  ASSERT_EQ(r.exit_code, kExitOk) << r.status.ToString();
  EXPECT_EQ(r.run.counts.rows_succeeded, 500);
  EXPECT_EQ(RecordCount(), 500u);
  EXPECT_EQ(sandbox_->Requests("hubspot", 429), 4);
  EXPECT_GT(clock_->slept().count(), 0);  // it waited (on the injected clock)
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.retry_queue"), 0);
}

}  // namespace
}  // namespace backflow::testing
