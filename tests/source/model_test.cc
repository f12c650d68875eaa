#include "source/model.h"

#include <gtest/gtest.h>

#include "support/test_postgres.h"

namespace backflow {
namespace {

using testing::TestDatabase;

SyncConfig LeadSync() {
  SyncConfig s;
  s.name = "leads";
  s.model_sql = "SELECT id, email, score, ok, seen_at, born, doc, ratio FROM analytics.leads";
  s.primary_key = "id";
  s.fields = {{"Email", "email"}, {"Score", "score"}};
  return s;
}

TEST(ModelTest, KindsFromTypeOids) {
  EXPECT_EQ(KindFromTypeOid(21), ValueKind::kInteger);
  EXPECT_EQ(KindFromTypeOid(23), ValueKind::kInteger);
  EXPECT_EQ(KindFromTypeOid(20), ValueKind::kInteger);
  EXPECT_EQ(KindFromTypeOid(1700), ValueKind::kNumber);
  EXPECT_EQ(KindFromTypeOid(700), ValueKind::kNumber);
  EXPECT_EQ(KindFromTypeOid(701), ValueKind::kNumber);
  EXPECT_EQ(KindFromTypeOid(16), ValueKind::kBoolean);
  EXPECT_EQ(KindFromTypeOid(1114), ValueKind::kTimestamp);
  EXPECT_EQ(KindFromTypeOid(1184), ValueKind::kTimestamp);
  EXPECT_EQ(KindFromTypeOid(1082), ValueKind::kDate);
  EXPECT_EQ(KindFromTypeOid(114), ValueKind::kJson);
  EXPECT_EQ(KindFromTypeOid(3802), ValueKind::kJson);
  EXPECT_EQ(KindFromTypeOid(25), ValueKind::kString);
  EXPECT_EQ(KindFromTypeOid(2950), ValueKind::kString);  // uuid
}

TEST(ModelTest, DescribesColumnsAndKinds) {
  TestDatabase db;
  db.Exec(
      "CREATE SCHEMA analytics; CREATE TABLE analytics.leads (id bigint, email text, score int,"
      " ok boolean, seen_at timestamptz, born date, doc jsonb, ratio numeric(5,2));"
      "INSERT INTO analytics.leads (id) VALUES (1)");
  auto conn = PgConnection::Open(Secret(db.dsn()));
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  auto cols = DescribeModel(**conn, LeadSync());
  ASSERT_TRUE(cols.ok()) << cols.status().ToString();
  ASSERT_EQ(cols->size(), 8u);
  EXPECT_EQ((*cols)[0].name, "id");
  EXPECT_EQ((*cols)[0].kind, ValueKind::kInteger);
  EXPECT_EQ((*cols)[1].kind, ValueKind::kString);
  EXPECT_EQ((*cols)[3].kind, ValueKind::kBoolean);
  EXPECT_EQ((*cols)[4].kind, ValueKind::kTimestamp);
  EXPECT_EQ((*cols)[5].kind, ValueKind::kDate);
  EXPECT_EQ((*cols)[6].kind, ValueKind::kJson);
  EXPECT_EQ((*cols)[7].kind, ValueKind::kNumber);
  EXPECT_TRUE(CheckModelColumns(LeadSync(), *cols).empty());

  SyncConfig table = LeadSync();
  table.model_sql.reset();
  table.model_table = "analytics.leads";
  auto tcols = DescribeModel(**conn, table);
  ASSERT_TRUE(tcols.ok()) << tcols.status().ToString();
  EXPECT_EQ(tcols->size(), 8u);
}

TEST(ModelTest, ReportsEveryMissingColumnWithItsPath) {
  SyncConfig s = LeadSync();
  s.primary_key = "user_id";
  s.fields.push_back({"Phone", "phone"});
  s.strategy = ChangeStrategy::kUpdatedAt;
  s.updated_at_column = "updated_at";
  s.consent_column = "consent";
  std::vector<ModelColumn> cols = {{"id", 20, ValueKind::kInteger},
                                   {"email", 25, ValueKind::kString},
                                   {"score", 23, ValueKind::kInteger}};
  auto problems = CheckModelColumns(s, cols);
  ASSERT_EQ(problems.size(), 4u);
  EXPECT_EQ(problems[0].path, "syncs.leads.primary_key");
  EXPECT_EQ(problems[1].path, "syncs.leads.fields.Phone");
  EXPECT_EQ(problems[2].path, "syncs.leads.change_detection.column");
  EXPECT_EQ(problems[3].path, "syncs.leads.consent_column");
  EXPECT_NE(problems[1].message.find("phone"), std::string::npos);
}

TEST(ModelTest, BrokenModelSqlIsInvalidArgument) {
  TestDatabase db;
  auto conn = PgConnection::Open(Secret(db.dsn()));
  ASSERT_TRUE(conn.ok());
  SyncConfig s = LeadSync();
  s.model_sql = "SELECT id FROM nowhere";
  auto cols = DescribeModel(**conn, s);
  ASSERT_FALSE(cols.ok());
  EXPECT_EQ(cols.status().code(), StatusCode::kInvalidArgument);
  s.model_sql = "SELEC broken";
  EXPECT_EQ(DescribeModel(**conn, s).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace backflow
