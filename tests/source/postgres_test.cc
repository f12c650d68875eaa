#include "source/postgres.h"

#include <gtest/gtest.h>

#include "source/redact.h"
#include "support/test_postgres.h"

namespace backflow {
namespace {

using testing::TestDatabase;

std::unique_ptr<PgConnection> Connect(const TestDatabase& db) {
  auto conn = PgConnection::Open(Secret(db.dsn()));
  EXPECT_TRUE(conn.ok()) << conn.status().ToString();
  return std::move(conn).value();
}

std::string ScalarOn(PgConnection& conn, const std::string& sql) {
  std::string out;
  Status st = conn.NonTransaction("read", [&](pqxx::nontransaction& tx) {
    out = tx.exec(sql)[0][0].c_str();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

TEST(PgConnectionTest, OpensWithApplicationNameAndUtc) {
  TestDatabase db;
  auto conn = Connect(db);
  ASSERT_TRUE(conn);
  EXPECT_TRUE(conn->is_open());
  EXPECT_EQ(ScalarOn(*conn, "SHOW application_name"), "backflow");
  EXPECT_EQ(ScalarOn(*conn, "SHOW TimeZone"), "UTC");
  EXPECT_EQ(ScalarOn(*conn, "SELECT '2026-01-02 03:04:05+00'::timestamptz::text"),
            "2026-01-02 03:04:05+00");
}

TEST(PgConnectionTest, KeepsAnApplicationNameFromTheDsn) {
  TestDatabase db;
  auto conn = PgConnection::Open(Secret(db.dsn() + " application_name=custom"));
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  EXPECT_EQ(ScalarOn(**conn, "SHOW application_name"), "custom");
}

TEST(PgConnectionTest, UnreachableServerIsUnavailableWithoutThePassword) {
  auto conn = PgConnection::Open(
      Secret("host=127.0.0.1 port=1 user=bf password=hunter2secret dbname=x connect_timeout=2"));
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(conn.status().message().find("hunter2secret"), std::string::npos)
      << conn.status().message();
  EXPECT_NE(conn.status().message().find("cannot connect"), std::string::npos);

  auto uri = PgConnection::Open(Secret("postgresql://bf:hunter2secret@127.0.0.1:1/x"));
  ASSERT_FALSE(uri.ok());
  EXPECT_EQ(uri.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(uri.status().message().find("hunter2secret"), std::string::npos);
}

TEST(PgConnectionTest, UnparseableDsnIsAConfigErrorThatQuotesNothing) {
  auto conn = PgConnection::Open(Secret("host=127.0.0.1 hunter2secret"));
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), StatusCode::kInvalidConfig);
  EXPECT_EQ(conn.status().message().find("hunter2secret"), std::string::npos);
}

TEST(PgConnectionTest, TransactionCommitsAndRollsBack) {
  TestDatabase db;
  auto conn = Connect(db);
  ASSERT_TRUE(conn);
  db.Exec("CREATE TABLE t (v int)");
  ASSERT_TRUE(conn->InTransaction("insert", [](pqxx::work& tx) {
    tx.exec("INSERT INTO t VALUES (1)");
  }).ok());
  EXPECT_EQ(db.Count("SELECT count(*) FROM t"), 1);

  Status st = conn->InTransaction("insert then fail", [](pqxx::work& tx) {
    tx.exec("INSERT INTO t VALUES (2)");
    tx.exec("SELECT * FROM no_such_table");
  });
  EXPECT_EQ(st.code(), StatusCode::kFailed);
  EXPECT_NE(st.message().find("SQLSTATE 42P01"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("insert then fail"), std::string::npos);
  EXPECT_EQ(db.Count("SELECT count(*) FROM t"), 1);  // rolled back
}

TEST(PgConnectionTest, NonSqlExceptionsAreInternal) {
  TestDatabase db;
  auto conn = Connect(db);
  ASSERT_TRUE(conn);
  Status st = conn->NonTransaction("boom", [](pqxx::nontransaction&) {
    throw std::runtime_error("not a database error");
  });
  EXPECT_EQ(st.code(), StatusCode::kInternal);
  EXPECT_NE(st.message().find("not a database error"), std::string::npos);
}

TEST(PgConnectionTest, TerminatedConnectionIsUnavailable) {
  TestDatabase db;
  auto conn = Connect(db);
  ASSERT_TRUE(conn);
  const std::string pid = ScalarOn(*conn, "SELECT pg_backend_pid()");
  db.Exec("SELECT pg_terminate_backend(" + pid + ")");
  Status st = conn->NonTransaction("after kill", [](pqxx::nontransaction& tx) {
    tx.exec("SELECT 1");
  });
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
}

TEST(QuoteTest, IdentifiersAndLiterals) {
  EXPECT_EQ(QuoteIdent("email"), "\"email\"");
  EXPECT_EQ(QuoteIdent("we\"ird"), "\"we\"\"ird\"");
  EXPECT_EQ(QuoteLiteral("it's"), "'it''s'");
  EXPECT_EQ(QuoteLiteral("a\\b"), " E'a\\\\b'");
}

TEST(QuoteTest, QuotedValuesRoundTripThroughPostgres) {
  TestDatabase db;
  const std::string tricky = "it's a \\ \"test\"";
  EXPECT_EQ(db.Scalar("SELECT " + QuoteLiteral(tricky)), tricky);
  db.Exec("CREATE TABLE " + QuoteIdent("Mixed \"Case\"") + " (v int)");
  EXPECT_EQ(db.Count("SELECT count(*) FROM " + QuoteIdent("Mixed \"Case\"")), 0);
}

TEST(RedactTest, RemovesPasswordsInEveryForm) {
  EXPECT_EQ(RedactDsnPasswords("host=h password=s3cret user=u"), "host=h password=*** user=u");
  EXPECT_EQ(RedactDsnPasswords("password = 'it''s secret' user=u"), "password=*** user=u");
  EXPECT_EQ(RedactDsnPasswords("password='it\\'s x' user=u"), "password=*** user=u");
  EXPECT_EQ(RedactDsnPasswords("postgresql://u:s3cret@h:5432/db"), "postgresql://u:***@h:5432/db");
  EXPECT_EQ(RedactDsnPasswords("password authentication failed for user \"u\""),
            "password authentication failed for user \"u\"");
  EXPECT_EQ(RedactSecrets("saw s3cret twice: s3cret", {"s3cret"}), "saw *** twice: ***");
}

TEST(RedactTest, ParsesDsnWithoutConnecting) {
  ParsedDsn kv = ParseDsn("host=h password=pw application_name=x");
  EXPECT_TRUE(kv.valid);
  EXPECT_EQ(kv.password, "pw");
  EXPECT_TRUE(kv.has_application_name);
  ParsedDsn uri = ParseDsn("postgresql://u:pw2@h/db");
  EXPECT_TRUE(uri.valid);
  EXPECT_EQ(uri.password, "pw2");
  EXPECT_FALSE(uri.has_application_name);
  EXPECT_FALSE(ParseDsn("host=h junk").valid);
}

}  // namespace
}  // namespace backflow
