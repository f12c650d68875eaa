// Issue 3's end-to-end checks: Postgres deltas -> id_mappings -> Salesforce (sObject
// Collections and Bulk API 2.0), against a real Postgres and the in-process emulator.
#include <httplib.h>

#include <nlohmann/json.hpp>

#include "integration/harness.h"
#include "state/bulk_jobs.h"
#include "state/delivery_store.h"

namespace backflow::testing {
namespace {

using nlohmann::json;

constexpr const char* kConfig = R"(
warehouse:
  dsn: "${DSN}"
destinations:
  sfdc:
    type: salesforce
    login_url: "${SANDBOX}"
    api_version: v60.0
    auth: { flow: client_credentials, client_id: sandbox-client, client_secret: sandbox-secret }
    rate_limit: { requests: 1000, per: 1s }
    max_concurrency: 1
    retry: { max_attempts: 3, initial_backoff: 100ms, max_backoff: 2s }
    daily_quota_share: SHARE
    bulk_threshold: THRESHOLD
syncs:
  leads:
    moment: "Route high-intent leads to the enterprise queue"
    destination: sfdc
    object: Lead
    model: { table: analytics.leads }
    primary_key: user_id
    match: { external_id_field: ExternalId__c }
    fields:
      Email: email
      Lead_Score__c: score
      EXTRA
  lead_updates:
    moment: "Refresh scores of leads sales already works"
    destination: sfdc
    object: Lead
    model: { table: analytics.leads }
    primary_key: user_id
    match: { external_id_field: ExternalId__c }
    fields:
      Lead_Score__c: score
    mode: update
)";

struct Options {
  std::string share = "100%";
  int threshold = 100000;
  bool bad_field = false;
};

std::string Yaml(const Options& o) {
  std::string y = kConfig;
  auto put = [&](const std::string& key, const std::string& value) {
    y.replace(y.find(key), key.size(), value);
  };
  put("SHARE", o.share);
  put("THRESHOLD", std::to_string(o.threshold));
  put("EXTRA", o.bad_field ? "Bad_Field__c: bad" : "");
  return y;
}

void Seed(const TestDatabase& db, int n) {
  db.Exec("CREATE SCHEMA analytics; CREATE TABLE analytics.leads (user_id text PRIMARY KEY, "
          "email text, score int, bad text);"
          "INSERT INTO analytics.leads SELECT 'user_' || i, 'u' || i || '@example.com', i % 100, "
          "NULL FROM generate_series(1, " + std::to_string(n) + ") i;");
}

// The state one sync leaves, as text that compares across databases.
std::string StateOf(const TestDatabase& db) {
  return db.Scalar(
             "SELECT md5(string_agg(warehouse_id || ':' || coalesce(destination_id, '-') || ':' "
             "|| sync_status, ',' ORDER BY warehouse_id)) FROM backflow.id_mappings") + " " +
         db.Scalar("SELECT md5(string_agg(warehouse_id || ':' || row_hash || ':' || "
                   "field_values::text, ',' ORDER BY warehouse_id)) FROM backflow.row_state") +
         " " +
         db.Scalar("SELECT string_agg(operation || '=' || n || '/' || f, ',' ORDER BY operation) "
                   "FROM (SELECT operation, count(*) n, md5(string_agg(warehouse_id || "
                   "array_to_string(changed_fields, '|') || coalesce(destination_id, ''), ',' "
                   "ORDER BY warehouse_id)) f FROM backflow.change_log GROUP BY 1) c") +
         " queued=" + db.Scalar("SELECT count(*) FROM backflow.retry_queue");
}

class SalesforceSync : public Harness {
 protected:
  void Use(const Options& o = {}) {
    Configure(Yaml(o));
    journal_ = std::make_unique<PgBulkJobJournal>(Secret(db_.dsn()), "backflow");
    runtime_->channel("sfdc")->SetBulkJournal(journal_.get());
  }
  // A runtime of its own for another database and sandbox (or a custom transport).
  std::unique_ptr<Runtime> Build(const Options& o, const TestDatabase& db,
                                 const sandbox::Sandbox& sb, HttpTransport* transport = nullptr) {
    auto env = [&](const std::string& name) -> std::optional<std::string> {
      if (name == "DSN") return db.dsn();
      if (name == "SANDBOX") return sb.base_url();
      return std::nullopt;
    };
    ConfigErrors errors;
    auto config = ParseConfigText(Yaml(o), env, &errors);
    EXPECT_TRUE(config.ok());
    RuntimeDeps deps;
    deps.clock = clock_.get();
    deps.transport = transport;
    auto rt = Runtime::Create(std::move(config).value(), deps);
    EXPECT_TRUE(rt.ok()) << rt.status().ToString();
    return std::move(rt).value();
  }
  json Leads() {
    json r = sandbox_->Find("salesforce")->Records();
    return r.contains("Lead") ? r["Lead"] : json::array();
  }
  long long Logged(const std::string& method, const std::string& path_part) {
    long long n = 0;
    for (const auto& e : sandbox_->RequestLog("salesforce"))
      n += e["method"] == method && e["path"].get<std::string>().find(path_part) != std::string::npos;
    return n;
  }
  void Admin(const std::string& path, const std::string& body = "{}") {
    httplib::Client client(sandbox_->base_url());
    auto res = client.Post(path.c_str(), body, "application/json");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
  }
  std::unique_ptr<PgBulkJobJournal> journal_;
};

TEST_F(SalesforceSync, FirstSyncCreatesEveryLeadThenOnlyChangesAreSent) {
  Seed(db_, 450);
  Use();
  RunReport r = Sync("leads");
  ASSERT_EQ(r.exit_code, kExitOk) << r.status.ToString();
  EXPECT_EQ(r.run.counts.rows_succeeded, 450);
  EXPECT_EQ(r.run.counts.api_requests, 3);  // 200 + 200 + 50 per sObject Collections call
  json leads = Leads();
  ASSERT_EQ(leads.size(), 450u);
  // Every mapping holds the Id Salesforce gave that very record.
  std::string pairs;
  for (const auto& l : leads)
    pairs += std::string(pairs.empty() ? "" : ",") + "('" + l["ExternalId__c"].get<std::string>() +
             "','" + l["Id"].get<std::string>() + "')";
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.id_mappings m JOIN (VALUES " + pairs +
                  ") v(w, d) ON m.warehouse_id = v.w AND m.destination_id = v.d WHERE "
                  "m.destination_system = 'sfdc' AND m.object_type = 'Lead' AND "
                  "m.sync_status = 'success'"),
            450);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.change_log WHERE operation = 'create'"), 450);

  const long long writes = sandbox_->WriteRequests("salesforce");
  RunReport again = Sync("leads");
  EXPECT_EQ(again.exit_code, kExitOk);
  EXPECT_EQ(again.run.counts.rows_changed, 0);
  EXPECT_EQ(again.run.counts.api_requests, 0);
  EXPECT_EQ(sandbox_->WriteRequests("salesforce"), writes);

  db_.Exec("UPDATE analytics.leads SET score = 1234 WHERE user_id IN ('user_5','user_50','user_400')");
  RunReport three = Sync("leads");
  ASSERT_EQ(three.exit_code, kExitOk) << three.status.ToString();
  EXPECT_EQ(three.run.counts.rows_attempted, 3);
  EXPECT_EQ(sandbox_->WriteRequests("salesforce"), writes + 1);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.change_log WHERE operation = 'update' AND "
                  "changed_fields = ARRAY['Lead_Score__c']"),
            3);
  int updated = 0;
  for (const auto& l : Leads()) updated += l["Lead_Score__c"] == 1234;
  EXPECT_EQ(updated, 3);
  EXPECT_EQ(Leads().size(), 450u);
}

TEST_F(SalesforceSync, ABackfillGoesThroughBulkJobsAndEndsInTheSameStateAsBatches) {
  Seed(db_, 2000);
  Use(Options{"100%", 500, false});
  RunReport r = Sync("leads");
  ASSERT_EQ(r.exit_code, kExitOk) << r.status.ToString();
  EXPECT_EQ(r.run.counts.rows_succeeded, 2000);
  EXPECT_EQ(Logged("POST", "/jobs/ingest"), 1);
  EXPECT_EQ(Logged("PUT", "/batches"), 1);
  EXPECT_EQ(Logged("PATCH", "/composite/sobjects"), 0);
  EXPECT_GE(Logged("GET", "/successfulResults"), 1);
  EXPECT_EQ(Leads().size(), 2000u);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.bulk_jobs WHERE finished AND state = "
                  "'JobComplete' AND cardinality(warehouse_ids) = 2000"),
            1);

  // The same model through sObject Collections, into a fresh org and database.
  TestDatabase db2;
  Seed(db2, 2000);
  sandbox::SandboxOptions opts;
  opts.seed = 7;
  sandbox::Sandbox sb2(opts);
  sb2.AddAll();
  ASSERT_TRUE(sb2.Start().ok());
  {
    std::unique_ptr<Runtime> rt2 = Build(Options{}, db2, sb2);
    RunReport small = SyncRunner(rt2.get()).Run("leads", {});
    ASSERT_EQ(small.exit_code, kExitOk) << small.status.ToString();
    EXPECT_EQ(small.run.counts.api_requests, 10);
  }
  EXPECT_EQ(sb2.Find("salesforce")->Records()["Lead"].size(), 2000u);
  sb2.Stop();
  EXPECT_EQ(StateOf(db_), StateOf(db2));
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.change_log WHERE operation = 'create'"), 2000);
}

TEST_F(SalesforceSync, ABulkJobStoppedMidPollIsResumedNotUploadedAgain) {
  Seed(db_, 800);
  // The daemon is stopped (drain timeout passed) while it polls the job.
  struct StopOnPoll final : HttpTransport {
    std::unique_ptr<HttpTransport> real = MakeCurlTransport();
    std::function<void()> on_poll;
    HttpResponse Send(const HttpRequest& req, std::chrono::milliseconds t) override {
      HttpResponse r = real->Send(req, t);
      if (req.method == "GET" && req.url.find("/jobs/ingest/") != std::string::npos && on_poll)
        std::exchange(on_poll, nullptr)();
      return r;
    }
  } transport;
  Options o{"100%", 500, false};
  runtime_ = Build(o, db_, *sandbox_, &transport);
  PgBulkJobJournal journal(Secret(db_.dsn()), "backflow");
  runtime_->channel("sfdc")->SetBulkJournal(&journal);
  transport.on_poll = [&] { runtime_->CancelDelivery(); };
  RunReport stopped = Sync("leads");
  // A stop is not a failure (exit 0, spec section 1): nothing was attempted, rows wait.
  EXPECT_EQ(stopped.status.code(), StatusCode::kCancelled) << stopped.status.ToString();
  EXPECT_NE(stopped.run.status, "succeeded");
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.row_state"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.retry_queue"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.bulk_jobs WHERE NOT finished"), 1);

  // Restart: a new process resumes the job first (what the engine does before its delta),
  // commits its outcomes, and the run then has nothing left to send.
  runtime_ = Build(o, db_, *sandbox_);
  DestinationChannel* channel = runtime_->channel("sfdc");
  channel->SetBulkJournal(&journal);
  const SyncConfig& sync = *runtime_->sync("leads");
  auto resumed = channel->ResumeBulkJobs(sync);
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  ASSERT_EQ(resumed->size(), 1u);
  const ResumedBulkJob& job = (*resumed)[0];
  ASSERT_TRUE(job.result.status.ok()) << job.result.status.ToString();
  auto conn = PgConnection::Open(Secret(db_.dsn()));
  ASSERT_TRUE(conn.ok());
  auto store = DeliveryStore::Open(conn->get(), "backflow");
  ASSERT_TRUE(store.ok());
  BatchCommit commit;
  commit.run_id = stopped.run.run_id;
  commit.sync = &sync;
  commit.destination = &runtime_->config().destinations.at("sfdc");
  commit.fields = &job.batch.fields;
  commit.records = &job.batch.records;
  commit.outcomes = &job.result.outcomes;
  commit.now = clock_->WallNow();
  auto totals = (*store)->CommitBatch(commit);
  ASSERT_TRUE(totals.ok()) << totals.status().ToString();
  EXPECT_EQ(totals->delivered, 800);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.bulk_jobs WHERE NOT finished"), 0);

  RunReport after = Sync("leads");
  ASSERT_EQ(after.exit_code, kExitOk) << after.status.ToString();
  EXPECT_EQ(after.run.counts.rows_changed, 0);
  EXPECT_EQ(Logged("PUT", "/batches"), 1);
  EXPECT_EQ(Logged("POST", "/jobs/ingest"), 1);
  EXPECT_EQ(Leads().size(), 800u);
}

TEST_F(SalesforceSync, AnExpiredSessionIsRefreshedWithoutLosingABatch) {
  Seed(db_, 1000);
  Use();
  sandbox::FaultSpec faults;
  sandbox::ScriptedAnswer expired;  // mid-run: the session the run holds is refused
  expired.status = 401;
  expired.body = R"([{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}])";
  faults.script = {expired};
  sandbox_->SetFaults("salesforce", faults);
  RunReport r = Sync("leads");
  ASSERT_EQ(r.exit_code, kExitOk) << r.status.ToString();
  EXPECT_EQ(r.run.counts.rows_succeeded, 1000);
  EXPECT_EQ(Leads().size(), 1000u);
  EXPECT_EQ(Logged("POST", "/services/oauth2/token"), 2);

  // Between runs every session expires for real.
  Admin("/_admin/salesforce/expire_tokens");
  db_.Exec("UPDATE analytics.leads SET score = 777 WHERE user_id IN ('user_1','user_2','user_3')");
  RunReport again = Sync("leads");
  ASSERT_EQ(again.exit_code, kExitOk) << again.status.ToString();
  EXPECT_EQ(again.run.counts.rows_succeeded, 3);
  EXPECT_EQ(Logged("POST", "/services/oauth2/token"), 3);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.retry_queue"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.row_state"), 1000);
}

// A value the org refuses (here: over 255 characters) fails only its own records; after
// retry.max_attempts runs they are dead in the retry queue and are not sent again.
TEST_F(SalesforceSync, RecordsTheOrgRejectsAreDeadLetteredWhileTheOthersAreDelivered) {
  Seed(db_, 300);
  db_.Exec("UPDATE analytics.leads SET email = repeat('x', 300) WHERE user_id IN "
           "('user_7','user_70','user_170','user_201','user_299')");
  Use();
  for (int run = 1; run <= 3; ++run) {
    RunReport r = Sync("leads");
    EXPECT_EQ(r.exit_code, kExitPartial) << run << " " << r.status.ToString();
    EXPECT_EQ(r.run.counts.rows_failed, 5) << run;
    EXPECT_EQ(r.run.error_summary["STRING_TOO_LONG"], 5) << run;
    EXPECT_EQ(Count("SELECT count(*) FROM backflow.retry_queue WHERE attempts = " +
                    std::to_string(run)),
              5);
    clock_->Advance(std::chrono::hours(1));  // past the retry backoff
  }
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.retry_queue WHERE status = 'dead' AND "
                  "attempts = 3 AND error_category = 'STRING_TOO_LONG'"),
            5);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.retry_queue"), 5);
  EXPECT_EQ(Leads().size(), 295u);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.row_state"), 295);
  RunReport after = Sync("leads");
  EXPECT_EQ(after.run.counts.rows_attempted, 0);
}

// rejected_fields: the emulator refuses every record that names the field, and the
// request builder names every mapped field (null clears it), so a null value is refused
// as well as a set one. The rows are dead after retry.max_attempts runs; nothing is lost.
TEST_F(SalesforceSync, AFieldTheOrgRejectsDeadLettersTheRowsThatSendIt) {
  Seed(db_, 40);
  db_.Exec("UPDATE analytics.leads SET bad = 'x' WHERE user_id IN ('user_7','user_30')");
  sandbox_->Find("salesforce")->Configure({{"rejected_fields", {{"Lead", {"Bad_Field__c"}}}}});
  Use(Options{"100%", 100000, true});
  for (int run = 1; run <= 3; ++run) {
    RunReport r = Sync("leads");
    EXPECT_EQ(r.run.status, "failed") << run << " " << r.status.ToString();
    EXPECT_EQ(r.run.error_summary["INVALID_FIELD"], 40) << run;
    clock_->Advance(std::chrono::hours(1));
  }
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.retry_queue WHERE status = 'dead' AND "
                  "attempts = 3 AND error_category = 'INVALID_FIELD' AND "
                  "last_error LIKE '%Bad_Field__c%'"),
            40);
  EXPECT_EQ(Leads().size(), 0u);
}

TEST_F(SalesforceSync, TheBudgetShareStopsSendingAndLosesNothing) {
  Seed(db_, 1000);
  sandbox_->Find("salesforce")->Configure({{"daily_limit", 40}});
  Use(Options{"50%", 100000, false});
  Admin("/_admin/salesforce/api_usage", R"({"used":17})");
  RunReport r = Sync("leads");
  EXPECT_EQ(r.status.code(), StatusCode::kUnavailable) << r.status.ToString();
  EXPECT_EQ(r.exit_code, kExitPartial);
  EXPECT_TRUE(runtime_->channel("sfdc")->paused());
  // Calls 18, 19 and 20 went out; 20 of 40 is the 50% share: nothing after it.
  EXPECT_EQ(r.run.counts.rows_succeeded, 600);
  EXPECT_EQ(r.run.counts.rows_failed, 0);
  EXPECT_EQ(Leads().size(), 600u);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.retry_queue"), 0);  // pending, not failed
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.row_state"), 600);

  // A new day: the budget is back.
  Admin("/_admin/salesforce/api_usage", R"({"used":0})");
  clock_->Advance(std::chrono::hours(2));
  RunReport next = Sync("leads");
  ASSERT_EQ(next.exit_code, kExitOk) << next.status.ToString();
  EXPECT_EQ(next.run.counts.rows_succeeded, 400);
  EXPECT_EQ(Leads().size(), 1000u);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.row_state"), 1000);
}

TEST_F(SalesforceSync, UpdateModeCreatesNothingAndCountsTheSkippedRows) {
  Seed(db_, 100);
  Use();
  ASSERT_EQ(Sync("leads").exit_code, kExitOk);
  db_.Exec("INSERT INTO analytics.leads SELECT 'new_' || i, 'n' || i || '@example.com', 5, NULL "
           "FROM generate_series(1, 20) i; UPDATE analytics.leads SET score = 4242 WHERE "
           "user_id IN ('user_1','user_2')");
  RunReport r = Sync("lead_updates");
  ASSERT_EQ(r.exit_code, kExitOk) << r.status.ToString();
  EXPECT_EQ(r.run.counts.rows_skipped, 20);
  EXPECT_EQ(r.run.counts.rows_succeeded, 100);
  EXPECT_EQ(Leads().size(), 100u);
  int updated = 0;
  for (const auto& l : Leads()) updated += l["Lead_Score__c"] == 4242;
  EXPECT_EQ(updated, 2);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.id_mappings WHERE warehouse_id LIKE 'new_%'"), 0);
}

}  // namespace
}  // namespace backflow::testing
