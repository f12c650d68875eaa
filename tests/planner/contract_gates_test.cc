// EvaluateGates against a real Postgres: SQL checks block on rows and on errors.
#include <gtest/gtest.h>

#include <memory>

#include "planner/contract.h"
#include "support/test_postgres.h"

namespace backflow {
namespace {

class ContractGatesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_.Exec(
        "CREATE SCHEMA analytics;"
        "CREATE TABLE analytics.leads (user_id text, tier text, owner text, email text);"
        "INSERT INTO analytics.leads VALUES "
        "('user_1', 'enterprise', 'ann', 'a@x.io'), ('user_2', 'free', NULL, 'b@x.io');");
    auto conn = PgConnection::Open(Secret(db_.dsn()));
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    conn_ = std::move(conn).value();
  }

  std::vector<GateFailure> Evaluate(const ContractConfig& c) {
    std::vector<GateFailure> failures;
    Status st = EvaluateGates(*conn_, c, &failures);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return failures;
  }

  static ContractConfig WithCheck(std::string name, std::string sql) {
    ContractConfig c;
    c.checks.push_back(ContractCheck{std::move(name), std::move(sql)});
    return c;
  }

  testing::TestDatabase db_;
  std::unique_ptr<PgConnection> conn_;
};

TEST_F(ContractGatesTest, CheckReturningNoRowsPasses) {
  auto failures = Evaluate(WithCheck(
      "no_enterprise_without_owner",
      "SELECT user_id FROM analytics.leads WHERE tier = 'enterprise' AND owner IS NULL;"));
  EXPECT_TRUE(failures.empty());
}

TEST_F(ContractGatesTest, CheckReturningRowsFailsWithTheCount) {
  db_.Exec(
      "INSERT INTO analytics.leads SELECT 'user_' || g, 'enterprise', NULL, 'e' || g || '@x.io' "
      "FROM generate_series(10, 14) g");
  auto failures = Evaluate(WithCheck(
      "no_enterprise_without_owner",
      "SELECT user_id FROM analytics.leads WHERE tier = 'enterprise' AND owner IS NULL "
      "ORDER BY user_id -- trailing comment"));
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].gate, "check:no_enterprise_without_owner");
  EXPECT_EQ(failures[0].reason, "returned 5 rows (first: user_10, user_11, user_12)");
}

TEST_F(ContractGatesTest, MultiColumnRowsAreShownAndEmailsHidden) {
  auto failures =
      Evaluate(WithCheck("owners", "SELECT user_id, email, owner FROM analytics.leads "
                                   "WHERE owner IS NULL"));
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].reason, "returned 1 row (first: (user_2, <email>, null))");
}

TEST_F(ContractGatesTest, BrokenSqlFailsTheGateAndTheNextCheckStillRuns) {
  ContractConfig c = WithCheck("broken", "SELECT nope FROM analytics.missing_table");
  c.checks.push_back(ContractCheck{"two_statements", "SELECT 1; SELECT 2"});
  c.checks.push_back(ContractCheck{"has_rows", "SELECT 1"});
  auto failures = Evaluate(c);
  ASSERT_EQ(failures.size(), 3u);
  EXPECT_EQ(failures[0].gate, "check:broken");
  EXPECT_NE(failures[0].reason.find("could not run"), std::string::npos);
  EXPECT_NE(failures[0].reason.find("missing_table"), std::string::npos);
  EXPECT_EQ(failures[1].gate, "check:two_statements");
  EXPECT_EQ(failures[2].gate, "check:has_rows");
  EXPECT_EQ(failures[2].reason, "returned 1 row (first: 1)");
}

TEST_F(ContractGatesTest, ChecksRunReadOnly) {
  auto failures = Evaluate(WithCheck(
      "sneaky", "WITH d AS (DELETE FROM analytics.leads RETURNING user_id) SELECT * FROM d"));
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_NE(failures[0].reason.find("could not run"), std::string::npos);
  EXPECT_EQ(db_.Count("SELECT count(*) FROM analytics.leads"), 2);
}

TEST_F(ContractGatesTest, NoChecksNoDbtPasses) {
  EXPECT_TRUE(Evaluate(ContractConfig{}).empty());
}

TEST_F(ContractGatesTest, BrokenConnectionIsUnavailable) {
  // Kill this session from another connection: the check cannot be evaluated at all.
  std::string pid;
  ASSERT_TRUE(conn_->NonTransaction("pid", [&](pqxx::nontransaction& tx) {
                     pid = tx.exec("SELECT pg_backend_pid()")[0][0].c_str();
                   }).ok());
  db_.Exec("SELECT pg_terminate_backend(" + pid + ")");
  std::vector<GateFailure> failures;
  Status st = EvaluateGates(*conn_, WithCheck("any", "SELECT 1 WHERE false"), &failures);
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
}

}  // namespace
}  // namespace backflow
