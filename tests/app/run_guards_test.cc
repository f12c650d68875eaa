#include "app/run_guards.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>

namespace backflow {
namespace {

DeltaSummary Changed(long long changed_delivered, long long deleted = 0) {
  DeltaSummary s;
  s.rows_changed = changed_delivered;
  s.rows_changed_delivered = changed_delivered;
  s.rows_deleted = deleted;
  return s;
}

TEST(DeliveredRowsNeededTest, EnoughRowsThatNoShareCanBeExceeded) {
  SyncConfig sync;
  sync.max_change_share = 0.5;
  EXPECT_EQ(DeliveredRowsNeeded(sync, Changed(10)), 21);
  EXPECT_EQ(DeliveredRowsNeeded(sync, Changed(0)), 1);
  sync.on_delete = OnDelete::kDelete;
  sync.max_delete_share = 0.1;
  EXPECT_EQ(DeliveredRowsNeeded(sync, Changed(10, 5)), 51);
  // A maximum of 0% blocks any change: the count is quoted, so it is counted in full.
  sync.max_change_share = 0;
  EXPECT_EQ(DeliveredRowsNeeded(sync, Changed(1)), std::numeric_limits<long long>::max());
}

// Whatever the real number of delivered rows, the guard decides the same (and says the
// same) on a count stopped at DeliveredRowsNeeded.
TEST(DeliveredRowsNeededTest, AStoppedCountDecidesAsTheFullCount) {
  for (double change_share : {0.01, 0.1, 0.5, 1.0}) {
    for (double delete_share : {0.0, 0.05, 0.3}) {
      SyncConfig sync;
      sync.max_change_share = change_share;
      sync.on_delete = OnDelete::kDelete;
      sync.max_delete_share = delete_share;
      for (long long changed : {0, 1, 7, 50}) {
        for (long long deleted : {0, 3}) {
          DeltaSummary s = Changed(changed, deleted);
          const long long needed = DeliveredRowsNeeded(sync, s);
          for (long long delivered = 1; delivered <= 6000; delivered += delivered < 200 ? 1 : 97) {
            DeltaSummary full = s, stopped = s;
            full.previously_delivered = delivered;
            stopped.previously_delivered = std::min(delivered, needed);
            EXPECT_EQ(GuardDelta(sync, full), GuardDelta(sync, stopped))
                << "change " << change_share << " delete " << delete_share << " changed "
                << changed << " deleted " << deleted << " delivered " << delivered;
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace backflow
