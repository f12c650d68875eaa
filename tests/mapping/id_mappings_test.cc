#include "mapping/id_mappings.h"

#include <gtest/gtest.h>

#include "state/migrations.h"
#include "support/test_postgres.h"

namespace backflow::testing {
namespace {

class IdMappingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto conn = PgConnection::Open(Secret(db_.dsn()));
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    conn_ = std::move(conn).value();
    ASSERT_TRUE(Migrate(*conn_, "bf").ok());
    db_.Exec(
        "INSERT INTO bf.id_mappings (warehouse_id, destination_system, object_type, "
        "destination_id, sync_status) VALUES "
        "('u1', 'sfdc', 'Lead', '00Q1', 'success'), "
        "('u2', 'sfdc', 'Lead', '00Q2', 'failed'), "
        "('u3', 'sfdc', 'Lead', NULL, 'failed'), "
        "('u4', 'sfdc', 'Lead', '00Q4', 'deleted'), "
        "('u1', 'sfdc', 'Contact', '003X', 'success'), "
        "('u1', 'hubspot', 'Lead', '901', 'success'), "
        "('we\"ird, {id}', 'sfdc', 'Lead', '00Q5', 'success')");
  }
  TestDatabase db_;
  std::unique_ptr<PgConnection> conn_;
};

TEST_F(IdMappingsTest, LookupReturnsKnownIdsOfThatObjectOnly) {
  IdMappings ids(conn_.get(), "bf");
  auto found = ids.Lookup("sfdc", "Lead", {"u1", "u2", "u3", "u4", "nope", "we\"ird, {id}"});
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  std::map<std::string, std::string> expected = {
      {"u1", "00Q1"}, {"u2", "00Q2"}, {"we\"ird, {id}", "00Q5"}};
  EXPECT_EQ(*found, expected);
  auto hub = ids.Lookup("hubspot", "Lead", {"u1"});
  ASSERT_TRUE(hub.ok());
  EXPECT_EQ(hub->at("u1"), "901");
  auto empty = ids.Lookup("sfdc", "Lead", {});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST_F(IdMappingsTest, CountsKnownIds) {
  IdMappings ids(conn_.get(), "bf");
  auto n = ids.Count("sfdc", "Lead");
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 3);
  auto none = ids.Count("braze", "users");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0);
}

TEST_F(IdMappingsTest, LookupOfManyIdsIsOneQuery) {
  std::vector<std::string> wids;
  for (int i = 0; i < 20000; ++i) wids.push_back("x" + std::to_string(i));
  wids.push_back("u1");
  IdMappings ids(conn_.get(), "bf");
  auto found = ids.Lookup("sfdc", "Lead", wids);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->size(), 1u);
}

TEST_F(IdMappingsTest, MissingSchemaIsAnError) {
  IdMappings ids(conn_.get(), "not_migrated");
  auto found = ids.Lookup("sfdc", "Lead", {"u1"});
  EXPECT_FALSE(found.ok());
}

}  // namespace
}  // namespace backflow::testing
