#include "state/migrations.h"

#include <gtest/gtest.h>

#include "state_fixture.h"

namespace backflow::testing {
namespace {

using MigrationsTest = StateTest;

TEST_F(MigrationsTest, IdempotentAndSaltStable) {
  EXPECT_GE(LatestSchemaVersion(), 2);
  auto salt1 = LoadSalt(*conn_, kSchema);
  ASSERT_TRUE(salt1.ok());
  EXPECT_EQ(salt1->size(), 64u);
  ASSERT_TRUE(Migrate(*conn_, kSchema).ok());
  ASSERT_TRUE(Migrate(*conn_, kSchema).ok());
  EXPECT_EQ(N("SELECT max(version) FROM bf_state.schema_migrations"), LatestSchemaVersion());
  EXPECT_EQ(N("SELECT count(*) FROM bf_state.schema_migrations"), LatestSchemaVersion());
  auto salt2 = LoadSalt(*conn_, kSchema);
  ASSERT_TRUE(salt2.ok());
  EXPECT_EQ(*salt1, *salt2);
  for (const char* view : {"v_runs_daily", "v_failure_reasons", "v_change_log", "v_retry_queue"})
    EXPECT_EQ(N(std::string("SELECT count(*) FROM pg_views WHERE schemaname = 'bf_state' "
                            "AND viewname = '") + view + "'"),
              1)
        << view;
}

TEST_F(MigrationsTest, TwoSchemasHaveTheirOwnSalt) {
  ASSERT_TRUE(Migrate(*conn_, "other state").ok());
  auto a = LoadSalt(*conn_, kSchema);
  auto b = LoadSalt(*conn_, "other state");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_NE(*a, *b);
}

TEST_F(MigrationsTest, MissingSchemaIsAnError) {
  auto salt = LoadSalt(*conn_, "never_migrated");
  EXPECT_FALSE(salt.ok());
}

}  // namespace
}  // namespace backflow::testing
