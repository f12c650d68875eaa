#include "state/sync_lock.h"

#include <gtest/gtest.h>

#include "state_fixture.h"

namespace backflow::testing {
namespace {

using SyncLeaseTest = StateTest;

TEST_F(SyncLeaseTest, ExclusiveUntilReleased) {
  const Secret dsn(db_.dsn());
  auto first = SyncLease::TryAcquire(dsn, kSchema, "lead_scores");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_NE(*first, nullptr);
  EXPECT_TRUE((*first)->Check().ok());

  auto second = SyncLease::TryAcquire(dsn, kSchema, "lead_scores");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, nullptr);
  // Another sync, or the same sync in another state schema, is a different lease.
  auto other_sync = SyncLease::TryAcquire(dsn, kSchema, "churn");
  ASSERT_TRUE(other_sync.ok());
  EXPECT_NE(*other_sync, nullptr);
  auto other_schema = SyncLease::TryAcquire(dsn, "elsewhere", "lead_scores");
  ASSERT_TRUE(other_schema.ok());
  EXPECT_NE(*other_schema, nullptr);

  first->reset();  // the destructor unlocks
  auto third = SyncLease::TryAcquire(dsn, kSchema, "lead_scores");
  ASSERT_TRUE(third.ok());
  EXPECT_NE(*third, nullptr);
}

TEST_F(SyncLeaseTest, ReleasedWhenTheHolderConnectionDies) {
  const Secret dsn(db_.dsn());
  auto holder = SyncLease::TryAcquire(dsn, kSchema, "lead_scores");
  ASSERT_TRUE(holder.ok());
  ASSERT_NE(*holder, nullptr);
  auto blocked = SyncLease::TryAcquire(dsn, kSchema, "lead_scores");
  ASSERT_TRUE(blocked.ok());
  ASSERT_EQ(*blocked, nullptr);

  // The holding daemon dies: its backend goes away with the lock.
  // Only this test's database: other test binaries share the cluster under ctest -j.
  EXPECT_EQ(Q("SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = "
              "'advisory' AND pid <> pg_backend_pid() AND database = "
              "(SELECT oid FROM pg_database WHERE datname = current_database())"),
            "1");
  bool taken = false;
  for (int i = 0; i < 200 && !taken; ++i) {  // the backend exits asynchronously
    auto next = SyncLease::TryAcquire(dsn, kSchema, "lead_scores");
    ASSERT_TRUE(next.ok());
    taken = *next != nullptr;
  }
  EXPECT_TRUE(taken);
  EXPECT_FALSE((*holder)->Check().ok());
}

TEST_F(SyncLeaseTest, UnreachableDatabaseIsUnavailable) {
  auto lease = SyncLease::TryAcquire(Secret("host=127.0.0.1 port=1 connect_timeout=2"), kSchema,
                                     "lead_scores");
  EXPECT_FALSE(lease.ok());
  EXPECT_EQ(lease.status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace backflow::testing
