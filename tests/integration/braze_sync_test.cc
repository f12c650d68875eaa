// Issue 4's end-to-end checks: Postgres deltas -> id_mappings -> Braze /users/track and
// /users/delete, against a real Postgres and the in-process Braze emulator.
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "destinations/braze/emulator.h"
#include "integration/harness.h"

namespace backflow::testing {
namespace {

using nlohmann::json;

constexpr const char* kConfig = R"(
warehouse:
  dsn: "${DSN}"
destinations:
  braze:
    type: braze
    base_url: "${SANDBOX}"
    api_key: sandbox-braze-key
    retry: { max_attempts: 4, initial_backoff: 100ms, max_backoff: 2s }
    DESTINATION_EXTRA
syncs:
  users:
    moment: "Suppress high-LTV users from discount campaigns"
    destination: braze
    object: users
    model: { table: analytics.users }
    primary_key: user_id
    fields:
      ltv_segment: segment
      churn_risk: churn
      is_vip: vip
      last_seen: seen_at
      plan_renewal: renewal
    SYNC_EXTRA
  user_updates:
    moment: "Refresh churn risk of users Braze already knows"
    destination: braze
    object: users
    model: { table: analytics.users }
    primary_key: user_id
    fields:
      churn_risk: churn
    mode: update
)";

constexpr int kTrackLimit = 75;

void SeedUsers(TestDatabase& db, int n) {
  db.Exec(
      "CREATE SCHEMA analytics; CREATE TABLE analytics.users (user_id text PRIMARY KEY, "
      "segment text, churn numeric, vip boolean, seen_at timestamptz, renewal date);"
      "INSERT INTO analytics.users SELECT 'user_' || i, "
      "(ARRAY['low','mid','high'])[i % 3 + 1], "
      "CASE WHEN i % 50 = 0 THEN NULL ELSE (i % 100) / 100.0 END, i % 10 = 0, "
      "timestamptz '2026-01-02 03:04:05+00' + i * interval '1 minute', "
      "date '2026-03-01' + i % 28 FROM generate_series(1, " +
      std::to_string(n) + ") i;");
}

std::string Yaml(const std::string& destination_extra, const std::string& sync_extra) {
  std::string yaml = kConfig;
  yaml.replace(yaml.find("DESTINATION_EXTRA"), 17, destination_extra);
  yaml.replace(yaml.find("SYNC_EXTRA"), 10, sync_extra);
  return yaml;
}

// What the Braze tests share, whichever sandbox the fixture runs.
class BrazeSyncBase : public Harness {
 protected:
  void Use(const std::string& destination_extra = "", const std::string& sync_extra = "") {
    Configure(Yaml(destination_extra, sync_extra));
  }
  json Profiles() { return sandbox_->Find("braze")->Records(); }
  // The request log entries for one Braze path.
  std::vector<json> Logged(const std::string& path) {
    std::vector<json> out;
    for (const json& e : sandbox_->RequestLog("braze"))
      if (e["path"] == path) out.push_back(e);
    return out;
  }
  // Deletes go out on the calling thread, whose thread_local curl handle keeps its
  // keep-alive connection open after the Runtime is gone, and Sandbox::Stop() then waits
  // out httplib's 5 s keep-alive. On a thread of its own the handle dies with the thread.
  RunReport SyncOnThread(const std::string& name, RunOptions options = {}) {
    RunReport report;
    std::thread t([&] { report = Sync(name, options); });
    t.join();
    return report;
  }
  long long Runs(const std::string& where) {
    return Count("SELECT count(*) FROM backflow.sync_runs WHERE " + where);
  }
};

class BrazeSync : public BrazeSyncBase {};

TEST_F(BrazeSync, FirstSyncCreatesEveryProfileWithExactlyTheMappedTypedAttributes) {
  SeedUsers(db_, 1000);
  Use();
  RunReport r = Sync("users");
  ASSERT_EQ(r.exit_code, kExitOk) << r.status.ToString();
  EXPECT_EQ(r.run.status, "succeeded");
  const json profiles = Profiles();
  ASSERT_EQ(profiles.size(), 1000u);

  const std::set<std::string> kAll = {"ltv_segment", "churn_risk", "is_vip", "last_seen",
                                      "plan_renewal"};
  for (const auto& [id, attributes] : profiles.items()) {
    std::set<std::string> keys;
    for (const auto& [k, v] : attributes.items()) keys.insert(k);
    std::set<std::string> want = kAll;
    // A null column is sent as null: Braze stores nothing for it.
    if (std::stoi(id.substr(5)) % 50 == 0) want.erase("churn_risk");
    ASSERT_EQ(keys, want) << id;
  }
  const json& u7 = profiles["user_7"];
  EXPECT_EQ(u7["ltv_segment"], "mid");
  ASSERT_TRUE(u7["churn_risk"].is_number_float()) << u7.dump();
  EXPECT_DOUBLE_EQ(u7["churn_risk"].get<double>(), 0.07);
  ASSERT_TRUE(u7["is_vip"].is_boolean());
  EXPECT_FALSE(u7["is_vip"].get<bool>());
  EXPECT_EQ(u7["last_seen"], "2026-01-02T03:11:05Z");
  EXPECT_EQ(u7["plan_renewal"], "2026-03-08");
  EXPECT_EQ(profiles["user_10"]["is_vip"], true);
  EXPECT_FALSE(profiles["user_50"].contains("churn_risk"));

  // The destination id of a Braze profile is its external_id: the primary key.
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.id_mappings WHERE destination_system = 'braze' "
                  "AND object_type = 'users' AND destination_id = warehouse_id AND "
                  "sync_status = 'success'"),
            1000);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.id_mappings"), 1000);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.change_log WHERE operation = 'create' AND "
                  "destination_id = warehouse_id"),
            1000);
  EXPECT_EQ(Runs("rows_read = 1000 AND rows_changed = 1000 AND rows_attempted = 1000 AND "
                 "rows_succeeded = 1000 AND rows_failed = 0 AND status = 'succeeded'"),
            1);
}

TEST_F(BrazeSync, AnUnchangedModelSendsNothingAndANullUnsetsTheAttribute) {
  SeedUsers(db_, 300);
  Use();
  ASSERT_EQ(Sync("users").exit_code, kExitOk);
  const long long writes = sandbox_->WriteRequests("braze");
  EXPECT_GT(writes, 0);

  RunReport again = Sync("users");
  EXPECT_EQ(again.exit_code, kExitOk);
  EXPECT_EQ(sandbox_->WriteRequests("braze"), writes);
  EXPECT_EQ(again.run.counts.rows_read, 300);
  EXPECT_EQ(again.run.counts.rows_changed, 0);
  EXPECT_EQ(again.run.counts.api_requests, 0);

  db_.Exec("UPDATE analytics.users SET segment = NULL WHERE user_id = 'user_5'");
  RunReport changed = Sync("users");
  ASSERT_EQ(changed.exit_code, kExitOk) << changed.status.ToString();
  EXPECT_EQ(changed.run.counts.rows_attempted, 1);
  EXPECT_EQ(sandbox_->WriteRequests("braze"), writes + 1);
  const json profiles = Profiles();
  EXPECT_EQ(profiles.size(), 300u);
  EXPECT_FALSE(profiles["user_5"].contains("ltv_segment")) << profiles["user_5"].dump();
  EXPECT_EQ(profiles["user_5"]["is_vip"], false);  // the rest of the profile stays
  EXPECT_EQ(profiles["user_4"]["ltv_segment"], "mid");
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.change_log WHERE run_id = " +
                  std::to_string(changed.run.run_id) +
                  " AND operation = 'update' AND changed_fields = ARRAY['ltv_segment']"),
            1);
}

// State from a version that stored md5 row hashes: the rows still count as delivered
// (nothing is sent), a plan leaves the hashes alone, and the next sync rewrites them.
TEST_F(BrazeSync, RowHashesStoredByEarlierVersionsStillHoldAndASyncRewritesThem) {
  SeedUsers(db_, 300);
  Use();
  ASSERT_EQ(Sync("users").exit_code, kExitOk);
  const long long writes = sandbox_->WriteRequests("braze");
  // As backflow's sessions render the values (UTC, ISO dates).
  db_.Exec("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'; "
           "UPDATE backflow.row_state rs SET row_hash = md5('ltv_segment,churn_risk,is_vip,"
           "last_seen,plan_renewal' || row(u.segment, u.churn, u.vip, u.seen_at, u.renewal)::text)"
           " FROM analytics.users u WHERE rs.sync_name = 'users' AND rs.warehouse_id = u.user_id");
  const std::string md5_rows =
      "SELECT count(*) FROM backflow.row_state WHERE sync_name = 'users' AND length(row_hash) = 32";
  ASSERT_EQ(Count(md5_rows), 300);

  RunReport planned;
  Plan("users", &planned);
  ASSERT_EQ(planned.exit_code, kExitOk) << planned.status.ToString();
  EXPECT_EQ(planned.run.counts.rows_changed, 0);
  EXPECT_EQ(Count(md5_rows), 300);  // a plan writes nothing

  RunReport again = Sync("users");
  ASSERT_EQ(again.exit_code, kExitOk) << again.status.ToString();
  EXPECT_EQ(again.run.counts.rows_changed, 0);
  EXPECT_EQ(sandbox_->WriteRequests("braze"), writes);
  EXPECT_EQ(Count(md5_rows), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.row_state WHERE length(row_hash) = 16"), 300);
  EXPECT_EQ(Sync("users").run.counts.rows_changed, 0);
}

TEST_F(BrazeSync, AnObjectBrazeRejectsFailsAloneWhileItsRequestMatesAreDelivered) {
  SeedUsers(db_, 150);
  db_.Exec("UPDATE analytics.users SET segment = '__reject__' WHERE user_id = 'user_42'");
  Use();
  RunReport r = Sync("users");
  EXPECT_EQ(r.exit_code, kExitPartial) << r.status.ToString();
  EXPECT_EQ(r.run.status, "partial");
  EXPECT_EQ(r.run.counts.rows_succeeded, 149);
  EXPECT_EQ(r.run.counts.rows_failed, 1);
  const json profiles = Profiles();
  EXPECT_EQ(profiles.size(), 149u);
  EXPECT_FALSE(profiles.contains("user_42"));
  // Its request-mates (one request holds 75) arrived.
  for (const char* mate : {"user_41", "user_43", "user_1", "user_75"})
    EXPECT_TRUE(profiles.contains(mate)) << mate;
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.retry_queue WHERE warehouse_id = 'user_42' AND "
                  "error_category = 'BRAZE_OBJECT_ERROR' AND last_error LIKE '%invalid value%' "
                  "AND attempts = 1"),
            1);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.retry_queue"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.retry_queue WHERE last_error LIKE "
                  "'%sandbox-braze-key%'"),
            0);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.id_mappings WHERE sync_status = 'success'"),
            149);

  // Fixed upstream: the newer version is delivered and leaves the queue.
  db_.Exec("UPDATE analytics.users SET segment = 'high' WHERE user_id = 'user_42'");
  RunReport fixed = Sync("users");
  EXPECT_EQ(fixed.exit_code, kExitOk) << fixed.status.ToString();
  EXPECT_EQ(fixed.run.counts.rows_succeeded, 1);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.retry_queue"), 0);
  EXPECT_EQ(Profiles()["user_42"]["ltv_segment"], "high");
}

TEST_F(BrazeSync, UpdateModeAgainstAnEmptyBrazeCreatesNothingAndCountsTheRowsSkipped) {
  SeedUsers(db_, 100);
  Use();
  RunReport r = Sync("user_updates");
  ASSERT_EQ(r.exit_code, kExitOk) << r.status.ToString();
  EXPECT_EQ(Profiles().size(), 0u);
  EXPECT_EQ(r.run.counts.rows_skipped, 100);
  EXPECT_EQ(r.run.counts.rows_succeeded, 0);
  EXPECT_EQ(r.run.counts.rows_failed, 0);
  EXPECT_EQ(Runs("rows_skipped = 100 AND rows_failed = 0"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.retry_queue"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.id_mappings WHERE sync_status = 'success'"), 0);
}

TEST_F(BrazeSync, UpdateModeUpdatesExistingProfilesAndSkipsTheRest) {
  SeedUsers(db_, 100);
  Use();
  ASSERT_EQ(Sync("users").exit_code, kExitOk);
  db_.Exec("INSERT INTO analytics.users (user_id, churn) SELECT 'new_' || i, 0.5 "
           "FROM generate_series(1, 20) i; UPDATE analytics.users SET churn = 0.99 "
           "WHERE user_id IN ('user_1', 'user_2')");
  RunReport r = Sync("user_updates");
  ASSERT_EQ(r.exit_code, kExitOk) << r.status.ToString();
  EXPECT_EQ(r.run.counts.rows_skipped, 20);
  EXPECT_EQ(r.run.counts.rows_succeeded, 100);
  const json profiles = Profiles();
  EXPECT_EQ(profiles.size(), 100u);
  for (const auto& [id, p] : profiles.items()) EXPECT_EQ(id.rfind("new_", 0), std::string::npos);
  EXPECT_DOUBLE_EQ(profiles["user_1"]["churn_risk"].get<double>(), 0.99);
  EXPECT_DOUBLE_EQ(profiles["user_3"]["churn_risk"].get<double>(), 0.03);
  EXPECT_EQ(profiles["user_1"]["ltv_segment"], "mid");  // attributes it did not map stay
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.id_mappings WHERE warehouse_id LIKE 'new_%'"), 0);
}

TEST_F(BrazeSync, RowsThatLeaveTheModelAreDeletedFromBraze) {
  SeedUsers(db_, 200);
  Use("", "on_delete: delete");
  ASSERT_EQ(Sync("users").exit_code, kExitOk);
  const long long writes = sandbox_->WriteRequests("braze");
  // 5% of the rows leave the model.
  db_.Exec("DELETE FROM analytics.users WHERE user_id IN (SELECT 'user_' || i FROM "
           "generate_series(20, 200, 20) i)");
  RunReport r = SyncOnThread("users");
  ASSERT_EQ(r.exit_code, kExitOk) << r.status.ToString();
  EXPECT_EQ(r.run.counts.rows_deleted, 10);
  EXPECT_EQ(Logged("/users/delete").size(), 1u);
  EXPECT_EQ(Logged("/users/track").size(), static_cast<size_t>(writes));  // nothing else changed
  const json profiles = Profiles();
  EXPECT_EQ(profiles.size(), 190u);
  for (int i = 20; i <= 200; i += 20)
    EXPECT_FALSE(profiles.contains("user_" + std::to_string(i))) << i;
  EXPECT_TRUE(profiles.contains("user_19"));
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.id_mappings WHERE sync_status = 'deleted' AND "
                  "warehouse_id IN (SELECT 'user_' || i FROM generate_series(20, 200, 20) i)"),
            10);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.id_mappings WHERE sync_status = 'deleted'"), 10);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.change_log WHERE operation = 'delete' AND run_id "
                  "= " + std::to_string(r.run.run_id)),
            10);
  // Deleted once: the next run has nothing to send.
  const long long after = sandbox_->WriteRequests("braze");
  EXPECT_EQ(Sync("users").exit_code, kExitOk);
  EXPECT_EQ(sandbox_->WriteRequests("braze"), after);
}

TEST_F(BrazeSync, DeletingHalfTheModelIsBlockedUnlessForced) {
  SeedUsers(db_, 200);
  Use("", "on_delete: delete");
  ASSERT_EQ(Sync("users").exit_code, kExitOk);
  const long long writes = sandbox_->WriteRequests("braze");
  db_.Exec("DELETE FROM analytics.users WHERE user_id IN (SELECT 'user_' || i FROM "
           "generate_series(2, 200, 2) i)");
  RunReport r = SyncOnThread("users");
  EXPECT_EQ(r.exit_code, kExitBlocked) << r.status.ToString();
  EXPECT_EQ(r.run.status, "blocked");
  EXPECT_EQ(sandbox_->WriteRequests("braze"), writes);
  EXPECT_TRUE(Logged("/users/delete").empty());
  EXPECT_EQ(Profiles().size(), 200u);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.id_mappings WHERE sync_status = 'deleted'"), 0);
  EXPECT_EQ(Runs("status = 'blocked' AND api_requests = 0"), 1);

  RunOptions force;
  force.force = true;
  RunReport forced = SyncOnThread("users", force);
  ASSERT_EQ(forced.exit_code, kExitOk) << forced.status.ToString();
  EXPECT_EQ(forced.run.counts.rows_deleted, 100);
  EXPECT_EQ(Logged("/users/delete").size(), 2u);  // at most 50 external_ids per request
  const json profiles = Profiles();
  EXPECT_EQ(profiles.size(), 100u);
  EXPECT_FALSE(profiles.contains("user_2"));
  EXPECT_TRUE(profiles.contains("user_1"));
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.id_mappings WHERE sync_status = 'deleted'"), 100);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.change_log WHERE operation = 'delete'"), 100);
}

// 1,000 rows, 75 objects per request: ceil(1000/75) = 14 requests, every one accepted (the
// emulator refuses a request over 75 objects with a 400).
void ExpectFourteenTrackRequests(const RunReport& r, const std::vector<json>& track,
                                 const json& profiles) {
  EXPECT_EQ(r.run.counts.api_requests, (1000 + kTrackLimit - 1) / kTrackLimit);
  EXPECT_EQ(track.size(), 14u);
  for (const json& e : track) EXPECT_EQ(e["status"], 201) << e.dump();
  EXPECT_EQ(profiles.size(), 1000u);
}

TEST_F(BrazeSync, AThousandRowsGoInFourteenRequestsOfAtMostSeventyFive) {
  SeedUsers(db_, 1000);
  Use();
  RunReport r = Sync("users");
  ASSERT_EQ(r.exit_code, kExitOk) << r.status.ToString();
  ExpectFourteenTrackRequests(r, Logged("/users/track"), Profiles());
  EXPECT_EQ(Runs("api_requests = 14 AND rows_succeeded = 1000"), 1);
  EXPECT_EQ(sandbox_->Requests("braze", 400), 0);
}

TEST_F(BrazeSync, LegacyLimitsStillSendAtMostSeventyFiveAttributesPerRequest) {
  SeedUsers(db_, 1000);
  Use("legacy_limits: true");  // the emulator counts 75 per request in total
  RunReport r = Sync("users");
  ASSERT_EQ(r.exit_code, kExitOk) << r.status.ToString();
  ExpectFourteenTrackRequests(r, Logged("/users/track"), Profiles());
  EXPECT_EQ(Runs("api_requests = 14 AND rows_succeeded = 1000"), 1);
  EXPECT_EQ(sandbox_->Requests("braze", 400), 0);
}

// A sandbox with only the Braze emulator, on the test's ManualClock, with a real rolling
// limit far below the one backflow is configured with.
class BrazeRateLimitedSync : public BrazeSyncBase {
 protected:
  void SetUp() override {
    clock_ = std::make_unique<ManualClock>(std::chrono::system_clock::now());
    sandbox::SandboxOptions opts;
    opts.seed = 7;
    opts.clock = clock_.get();
    opts.emulator_options = {{"braze", {{"rate_limit", {{"requests", 4}, {"per_ms", 2000}}}}}};
    sandbox_ = std::make_unique<sandbox::Sandbox>(opts);
    sandbox_->Add(std::make_unique<braze::BrazeEmulator>(clock_.get()));
    auto port = sandbox_->Start();
    ASSERT_TRUE(port.ok()) << port.status().ToString();
  }
};

TEST_F(BrazeRateLimitedSync, ARunLargerThanTheLimitFollowsTheHeadersAndDeliversEverything) {
  SeedUsers(db_, 1000);
  Use("rate_limit: { requests: 3000, per: 3s }\n    max_concurrency: 1");
  RunReport r = Sync("users");
  ASSERT_EQ(r.exit_code, kExitOk) << r.status.ToString();
  EXPECT_EQ(r.run.counts.rows_succeeded, 1000);
  EXPECT_EQ(Profiles().size(), 1000u);
  // 14 requests at 4 per 2 s cannot all go at once: backflow waited on the headers...
  EXPECT_GT(clock_->slept().count(), 0);
  // ...instead of running into the limit.
  EXPECT_LE(sandbox_->Requests("braze", 429), 1);
  EXPECT_EQ(sandbox_->Requests("braze", 201), 14);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.retry_queue"), 0);
}

}  // namespace
}  // namespace backflow::testing
