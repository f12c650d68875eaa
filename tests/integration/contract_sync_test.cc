// Issue 6's end-to-end checks: contracts, gates, --force, plan, --sample and the PII
// promise of change_log, against a real Postgres and the in-process HubSpot emulator.
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "integration/harness.h"

namespace backflow::testing {
namespace {

using nlohmann::json;

constexpr const char* kConfig = R"(
warehouse:
  dsn: "DSN_HERE"
destinations:
  hubspot:
    type: hubspot
    base_url: "${SANDBOX}"
    token: sandbox-hubspot-token
    rate_limit: { requests: 1000, per: 1s }
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
    max_change_share: 50%
    contract:
      fields:
        email: { type: email, required: true, pii: true }
        lead_score: { type: integer, min: 0, max: 100, required: true }
      max_invalid: MAX_INVALID
      CHECKS
)";

// Rows as a stable text set, for "untouched" comparisons.
std::string TableDigest(TestDatabase& db, const std::string& table) {
  return db.Scalar("SELECT coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), 'empty') "
                   "FROM backflow." + table + " t");
}

void Seed(TestDatabase& db, int n) {
  db.Exec("CREATE SCHEMA analytics; CREATE TABLE analytics.contacts (user_id text PRIMARY KEY, "
          "email text, score int, stage text);"
          "INSERT INTO analytics.contacts SELECT 'user_' || i, 'u' || i || '@example.com', "
          "i % 100, 'lead' FROM generate_series(1, " + std::to_string(n) + ") i;");
}

class ContractSync : public Harness {
 protected:
  void Use(const std::string& max_invalid = "1%", const std::string& checks = "",
           const TestDatabase* db = nullptr) {
    std::string yaml = kConfig;
    yaml.replace(yaml.find("DSN_HERE"), 8, (db ? db : &db_)->dsn());
    yaml.replace(yaml.find("MAX_INVALID"), 11, max_invalid);
    yaml.replace(yaml.find("CHECKS"), 6, checks);
    Configure(yaml);
  }
  size_t RecordCount() {
    auto r = sandbox_->Find("hubspot")->Records();
    return r.contains("contacts") ? r["contacts"].size() : 0;
  }
  std::set<std::string> DeliveredIds(TestDatabase& db, long long run_id) {
    std::set<std::string> out;
    std::string ids = db.Scalar("SELECT string_agg(warehouse_id, ',') FROM backflow.change_log "
                                "WHERE NOT planned AND run_id = " + std::to_string(run_id));
    std::stringstream in(ids);
    for (std::string id; std::getline(in, id, ',');) out.insert(id);
    return out;
  }
  json Plan(RunReport* report, std::optional<double> sample = std::nullopt) {
    return Harness::Plan("contacts", report, sample);
  }
};

constexpr const char* kFailingCheck =
    "checks:\n        - name: no_churned_leads\n"
    "          sql: \"SELECT user_id FROM analytics.contacts WHERE stage = 'churned'\"";

TEST_F(ContractSync, ViolationsAboveMaxInvalidBlockTheRun) {
  Seed(db_, 100);
  db_.Exec("UPDATE analytics.contacts SET email = 'not-an-email' WHERE user_id IN "
           "('user_3', 'user_4'); UPDATE analytics.contacts SET score = 250 WHERE user_id = "
           "'user_5'; UPDATE analytics.contacts SET email = NULL WHERE user_id = 'user_6'");
  Use("1%");
  RunReport r = Sync("contacts");
  EXPECT_EQ(r.exit_code, kExitBlocked);
  EXPECT_EQ(r.run.status, "blocked");
  EXPECT_EQ(r.run.counts.rows_rejected, 4);
  EXPECT_EQ(sandbox_->WriteRequests("hubspot"), 0);
  EXPECT_EQ(RecordCount(), 0u);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.sync_runs WHERE status = 'blocked' AND "
                  "rows_rejected = 4"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.rejected_rows"), 4);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.rejected_rows, jsonb_array_elements(reasons) j "
                  "WHERE warehouse_id IN ('user_3', 'user_4') AND j->>'field' = 'email' AND "
                  "j->>'rule' = 'type'"), 2);
  EXPECT_EQ(db_.Scalar("SELECT reasons->0->>'detail' FROM backflow.rejected_rows WHERE "
                       "warehouse_id = 'user_5'"), "value 250 > max 100");
  EXPECT_EQ(db_.Scalar("SELECT reasons->0->>'rule' FROM backflow.rejected_rows WHERE "
                       "warehouse_id = 'user_6'"), "required");
  // The bad address is PII: the reasons show its hash only.
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.rejected_rows WHERE reasons::text LIKE "
                  "'%not-an-email%'"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.id_mappings"), 0);
}

TEST_F(ContractSync, BelowMaxInvalidOnlyTheBadRowsAreHeldBack) {
  Seed(db_, 100);
  db_.Exec("UPDATE analytics.contacts SET email = 'broken@' WHERE user_id IN ('user_7', 'user_8')");
  Use("5%");
  RunReport r = Sync("contacts");
  EXPECT_EQ(r.run.counts.rows_rejected, 2);
  EXPECT_EQ(r.run.counts.rows_succeeded, 98);
  EXPECT_NE(r.run.status, "blocked");
  EXPECT_EQ(RecordCount(), 98u);
  EXPECT_GT(sandbox_->WriteRequests("hubspot"), 0);
  std::set<std::string> sent = DeliveredIds(db_, r.run.run_id);
  EXPECT_EQ(sent.size(), 98u);
  EXPECT_FALSE(sent.count("user_7"));
  EXPECT_FALSE(sent.count("user_8"));
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.sync_runs WHERE rows_rejected = 2"), 1);
}

TEST_F(ContractSync, AFailingCheckBlocksAndForceSendsAnyway) {
  Seed(db_, 50);
  db_.Exec("UPDATE analytics.contacts SET stage = 'churned' WHERE user_id = 'user_9'");
  Use("1%", kFailingCheck);
  RunReport r = Sync("contacts");
  EXPECT_EQ(r.exit_code, kExitBlocked);
  EXPECT_EQ(r.run.status, "blocked");
  EXPECT_NE(r.status.message().find("check:no_churned_leads"), std::string::npos);
  EXPECT_NE(r.status.message().find("returned 1 row (first: user_9)"), std::string::npos);
  EXPECT_EQ(sandbox_->WriteRequests("hubspot"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.sync_runs WHERE status = 'blocked' AND "
                  "error_summary ? 'check:no_churned_leads' AND NOT forced"), 1);

  RunOptions force;
  force.force = true;
  RunReport forced = Sync("contacts", force);
  EXPECT_EQ(forced.exit_code, kExitOk) << forced.status.ToString();
  EXPECT_EQ(forced.run.counts.rows_succeeded, 50);
  EXPECT_EQ(RecordCount(), 50u);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.sync_runs WHERE run_id = " +
                  std::to_string(forced.run.run_id) + " AND forced AND status = 'succeeded'"), 1);
}

TEST_F(ContractSync, ABrokenCheckBlocksRatherThanPasses) {
  Seed(db_, 10);
  Use("1%", "checks:\n        - name: typo\n          sql: \"SELECT user_id FROM analytics.contactz\"");
  RunReport r = Sync("contacts");
  EXPECT_EQ(r.exit_code, kExitBlocked);
  EXPECT_EQ(sandbox_->WriteRequests("hubspot"), 0);
}

TEST_F(ContractSync, PlanChangesNothingAndPredictsTheNextSync) {
  Seed(db_, 200);
  Use("20%");
  ASSERT_EQ(Sync("contacts").exit_code, kExitOk);
  db_.Exec("UPDATE analytics.contacts SET score = 77 WHERE user_id IN ('user_1','user_20',"
           "'user_33','user_150'); UPDATE analytics.contacts SET email = 'new' || user_id || "
           "'@example.org' WHERE user_id IN ('user_2', 'user_40');"
           "INSERT INTO analytics.contacts VALUES ('user_new1', 'n1@example.com', 5, 'lead'), "
           "('user_new2', 'n2@example.com', 6, 'lead'), ('user_bad', 'bad', 7, 'lead');");
  const size_t log_before = sandbox_->RequestLog("hubspot").size();
  const long long writes_before = sandbox_->WriteRequests("hubspot");
  const std::string row_state = TableDigest(db_, "row_state");
  const std::string mappings = TableDigest(db_, "id_mappings");
  const std::string queue = TableDigest(db_, "retry_queue");
  const long long delivered_log = Count("SELECT count(*) FROM backflow.change_log WHERE NOT planned");

  RunReport pr;
  json plan = Plan(&pr);
  ASSERT_FALSE(plan.is_discarded());
  EXPECT_EQ(pr.exit_code, kExitOk) << pr.status.ToString();
  EXPECT_EQ(pr.run.status, "planned");
  EXPECT_EQ(sandbox_->RequestLog("hubspot").size(), log_before);
  EXPECT_EQ(sandbox_->WriteRequests("hubspot"), writes_before);
  EXPECT_EQ(TableDigest(db_, "row_state"), row_state);
  EXPECT_EQ(TableDigest(db_, "id_mappings"), mappings);
  EXPECT_EQ(TableDigest(db_, "retry_queue"), queue);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.change_log WHERE NOT planned"), delivered_log);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.sync_runs WHERE status = 'planned' AND run_id = " +
                  std::to_string(pr.run.run_id)), 1);
  EXPECT_EQ(plan["totals"]["rejected"], 1);
  EXPECT_EQ(plan["totals"]["would_create"], 2);
  EXPECT_EQ(plan["totals"]["would_update"], 6);
  // PII stays masked in the plan too.
  EXPECT_EQ(plan.dump().find("@example.org"), std::string::npos);

  std::set<std::string> predicted;
  for (const auto& rec : plan["records"]) {
    std::string fields;
    for (const auto& c : rec["changes"]) fields += c["field"].get<std::string>() + ";";
    predicted.insert(rec["warehouse_id"].get<std::string>() + " " +
                     rec["operation"].get<std::string>() + " " + fields);
  }
  RunReport r = Sync("contacts");
  ASSERT_EQ(r.exit_code, kExitOk) << r.status.ToString();
  std::string actual_text = db_.Scalar(
      "SELECT string_agg(warehouse_id || ' ' || operation || ' ' || "
      "array_to_string(changed_fields, ';') || ';', '|') FROM backflow.change_log "
      "WHERE NOT planned AND run_id = " + std::to_string(r.run.run_id));
  std::set<std::string> actual;
  std::stringstream in(actual_text);
  for (std::string line; std::getline(in, line, '|');) actual.insert(line);
  EXPECT_EQ(predicted.size(), 8u);
  EXPECT_EQ(predicted, actual);
}

TEST_F(ContractSync, SampleSendsAStableOnePercent) {
  Seed(db_, 10000);
  Use("1%");
  RunOptions o;
  o.sample = 0.01;
  RunReport r = Sync("contacts", o);
  ASSERT_EQ(r.exit_code, kExitOk) << r.status.ToString();
  EXPECT_GE(r.run.counts.rows_succeeded, 60);
  EXPECT_LE(r.run.counts.rows_succeeded, 140);
  EXPECT_EQ(RecordCount(), static_cast<size_t>(r.run.counts.rows_succeeded));
  std::set<std::string> first = DeliveredIds(db_, r.run.run_id);
  EXPECT_EQ(first.size(), static_cast<size_t>(r.run.counts.rows_succeeded));

  // A fresh warehouse with the same rows and a fresh destination: plan and sync with the
  // same sample pick the same rows.
  TestDatabase other;
  Seed(other, 10000);
  sandbox_->Reset();
  Use("1%", "", &other);
  RunReport pr;
  json plan = Plan(&pr, 0.01);
  std::set<std::string> planned;
  for (const auto& rec : plan["records"]) planned.insert(rec["warehouse_id"].get<std::string>());
  EXPECT_EQ(planned, first);
  RunReport again = Sync("contacts", o);
  ASSERT_EQ(again.exit_code, kExitOk) << again.status.ToString();
  EXPECT_EQ(DeliveredIds(other, again.run.run_id), first);
}

TEST_F(ContractSync, ChangeLogNeverHoldsAPiiValueInClear) {
  Seed(db_, 60);
  Use("1%");
  ASSERT_EQ(Sync("contacts").exit_code, kExitOk);
  db_.Exec("CREATE TABLE public.old_emails AS SELECT email FROM analytics.contacts;"
           "UPDATE analytics.contacts SET email = 'changed_' || email WHERE score < 10");
  ASSERT_EQ(Sync("contacts").exit_code, kExitOk);
  RunReport pr;
  (void)Plan(&pr);
  const std::string emails =
      "(SELECT email FROM analytics.contacts UNION SELECT email FROM public.old_emails)";
  // The email field is logged (so the check below can fail), as a hash.
  EXPECT_GT(Count("SELECT count(*) FROM backflow.change_log WHERE field_values ? 'email'"), 60);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.change_log c, jsonb_each_text(c.field_values) kv "
                  "WHERE kv.value IN " + emails), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.change_log c, " + emails +
                  " e WHERE position(e.email IN c.field_values::text) > 0"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM backflow.row_state r, " + emails +
                  " e WHERE position(e.email IN r.field_values::text) > 0"), 0);
}

TEST_F(ContractSync, MaxChangeShareBlocksARunChangingSixtyPercent) {
  Seed(db_, 100);
  Use("1%");
  ASSERT_EQ(Sync("contacts").exit_code, kExitOk);
  const long long writes = sandbox_->WriteRequests("hubspot");
  db_.Exec("UPDATE analytics.contacts SET score = 1 + (score + 1) % 99 "
           "WHERE (substr(user_id, 6))::int <= 60");
  RunReport r = Sync("contacts");
  EXPECT_EQ(r.exit_code, kExitBlocked);
  EXPECT_EQ(r.run.status, "blocked");
  EXPECT_NE(r.status.message().find("max_change_share"), std::string::npos);
  EXPECT_EQ(sandbox_->WriteRequests("hubspot"), writes);
}

}  // namespace
}  // namespace backflow::testing
