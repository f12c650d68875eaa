// updated_at windows, samples and retry holds.
#include <gtest/gtest.h>

#include <set>

#include "planner/delta_fixture.h"

namespace backflow {
namespace {

std::set<std::string> Ids(const std::vector<Record>& records) {
  std::set<std::string> ids;
  for (const Record& r : records) ids.insert(r.warehouse_id);
  return ids;
}

TEST_F(DeltaTest, UpdatedAtWindowCatchesLateRowsAndSkipsUnchangedReReads) {
  sync_.strategy = ChangeStrategy::kUpdatedAt;
  sync_.updated_at_column = "updated_at";
  sync_.lookback = Millis(3600 * 1000);  // 1h
  AddLeads(1, 6);
  // No cursor yet: every row is read.
  {
    auto first = Open();
    ASSERT_TRUE(first);
    EXPECT_EQ(first->summary().rows_read, 6);
    ASSERT_TRUE(first->summary().new_cursor.has_value());
    EXPECT_EQ(*first->summary().new_cursor, "2026-01-01 00:00:00+00");
    Deliver(ReadAll(*first), *first);
  }
  db_.Exec("INSERT INTO backflow.sync_cursors (sync_name, cursor) VALUES ('lead_scores',"
           " '2026-01-02 12:00:00+00')");
  // 1: changed long ago (outside the window) -> not read at all.
  db_.Exec("UPDATE analytics.leads SET score = 77 WHERE id = 1");
  // 2: re-read inside the lookback but unchanged -> read, not sent.
  db_.Exec("UPDATE analytics.leads SET updated_at = '2026-01-02 11:30:00+00' WHERE id = 2");
  // 3: a late row, committed with a timestamp before the cursor -> caught by the lookback.
  db_.Exec("UPDATE analytics.leads SET score = 55, updated_at = '2026-01-02 11:15:00+00'"
           " WHERE id = 3");
  // 4: new since the cursor.
  db_.Exec("UPDATE analytics.leads SET score = 44, updated_at = '2026-01-02 13:00:00+00'"
           " WHERE id = 4");
  auto reader = Open();
  ASSERT_TRUE(reader);
  const DeltaSummary& s = reader->summary();
  EXPECT_EQ(s.rows_read, 3);
  EXPECT_EQ(s.rows_changed, 2);
  EXPECT_EQ(s.rows_unchanged, 1);
  ASSERT_TRUE(s.new_cursor.has_value());
  EXPECT_EQ(*s.new_cursor, "2026-01-02 13:00:00+00");
  EXPECT_EQ(Ids(ReadAll(*reader)), (std::set<std::string>{"3", "4"}));
}

TEST_F(DeltaTest, UpdatedAtStillReadsQueuedRowsOutsideTheWindow) {
  sync_.strategy = ChangeStrategy::kUpdatedAt;
  sync_.updated_at_column = "updated_at";
  sync_.lookback = Millis(3600 * 1000);
  AddLeads(1, 3);
  db_.Exec("INSERT INTO backflow.sync_cursors (sync_name, cursor) VALUES ('lead_scores',"
           " '2026-02-01 00:00:00+00')");
  db_.Exec("INSERT INTO backflow.retry_queue (sync_name, warehouse_id, destination, row_hash,"
           " next_attempt_at) VALUES ('lead_scores', '2', 'sfdc', 'old', '2020-01-01+00')");
  auto reader = Open();
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->summary().rows_read, 1);
  EXPECT_EQ(Ids(ReadAll(*reader)), (std::set<std::string>{"2"}));
}

TEST_F(DeltaTest, SampleIsDeterministicAboutOnePercentAndMatchesCpp) {
  AddLeads(1, 10000);
  DeltaOptions o;
  o.sample = 0.01;
  std::set<std::string> first, second;
  {
    auto reader = Open(o);
    ASSERT_TRUE(reader);
    EXPECT_EQ(reader->summary().rows_changed + reader->summary().rows_out_of_sample, 10000);
    EXPECT_NEAR(static_cast<double>(reader->summary().rows_changed), 100.0, 40.0);
    first = Ids(ReadAll(*reader, 37));
    EXPECT_EQ(static_cast<long long>(first.size()), reader->summary().rows_changed);
  }
  {
    auto reader = Open(o);
    ASSERT_TRUE(reader);
    second = Ids(ReadAll(*reader));
  }
  EXPECT_EQ(first, second);
  // The C++ bucket picks exactly the same rows.
  std::set<std::string> cpp;
  for (int i = 1; i <= 10000; ++i)
    if (SampleBucket(std::to_string(i)) < 0.01) cpp.insert(std::to_string(i));
  EXPECT_EQ(first, cpp);
  // And SQL computes the same bucket value.
  for (const std::string id : {"1", "77", "9999", "abc"}) {
    const long long sql = std::stoll(db_.Scalar(
        "SELECT ('x' || lpad(substr(md5(" + QuoteLiteral(id) + "), 1, 8), 16, '0'))::bit(64)::bigint"));
    EXPECT_EQ(static_cast<double>(sql) / 4294967296.0, SampleBucket(id)) << id;
  }
  // The sync's standing sample applies when no --sample is given.
  sync_.sample = 0.01;
  auto standing = Open();
  ASSERT_TRUE(standing);
  EXPECT_EQ(Ids(ReadAll(*standing)), first);
}

class RetryDeltaTest : public DeltaTest {
 protected:
  // 1: this version failed, retry in the future -> held.
  // 2: an older version failed (different hash), retry in the future -> superseded: sent.
  // 3: this version is dead -> held.
  // 4: this version failed, retry due -> sent.
  // 5: no queue entry, delivered, unchanged.
  void SetUp() override {
    DeltaTest::SetUp();
    AddLeads(1, 5);
    {
      auto reader = Open();
      ASSERT_TRUE(reader);
      auto records = ReadAll(*reader);
      ASSERT_EQ(records.size(), 5u);
      Deliver({records[4]}, *reader);
      for (int i = 0; i < 4; ++i) hash_[i + 1] = records[i].row_hash;
    }
    Queue(1, hash_[1], "pending", "2026-03-01 00:00:00+00");
    Queue(2, "an-older-version", "pending", "2026-03-01 00:00:00+00");
    Queue(3, hash_[3], "dead", "2026-01-01 00:00:00+00");
    Queue(4, hash_[4], "pending", "2026-02-01 00:00:00+00");
    now_ = WallTime(std::chrono::seconds(1769990400));  // 2026-02-02 00:00:00 UTC
  }
  void Queue(int id, const std::string& hash, const std::string& status, const std::string& at) {
    db_.Exec("INSERT INTO backflow.retry_queue (sync_name, warehouse_id, destination, row_hash,"
             " next_attempt_at, status) VALUES ('lead_scores', '" + std::to_string(id) +
             "', 'sfdc', " + QuoteLiteral(hash) + ", '" + at + "', '" + status + "')");
  }
  std::map<int, std::string> hash_;
  WallTime now_;
};

TEST_F(RetryDeltaTest, HeldRowsWaitAndNewerVersionsSupersede) {
  DeltaOptions o;
  o.now = now_;
  auto reader = Open(o);
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->summary().rows_held, 2);
  EXPECT_EQ(reader->summary().rows_changed, 2);
  EXPECT_EQ(reader->summary().rows_unchanged, 1);
  EXPECT_EQ(Ids(ReadAll(*reader)), (std::set<std::string>{"2", "4"}));
}

TEST_F(RetryDeltaTest, HeldRowsAreSentOnceTheirTimeComes) {
  DeltaOptions o;
  o.now = WallTime(std::chrono::seconds(1772409600));  // 2026-03-02
  auto reader = Open(o);
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->summary().rows_held, 1);  // only the dead one
  EXPECT_EQ(Ids(ReadAll(*reader)), (std::set<std::string>{"1", "2", "4"}));
}

TEST_F(RetryDeltaTest, RetryOnlyTakesDueEntries) {
  DeltaOptions o;
  o.now = now_;
  o.retry_only = true;
  auto reader = Open(o);
  ASSERT_TRUE(reader);
  EXPECT_EQ(Ids(ReadAll(*reader)), (std::set<std::string>{"4"}));
  EXPECT_EQ(reader->summary().rows_held, 3);
  EXPECT_EQ(reader->summary().rows_unchanged, 1);
  reader.reset();
  o.retry_all_pending = true;
  auto all = Open(o);
  ASSERT_TRUE(all);
  EXPECT_EQ(Ids(ReadAll(*all)), (std::set<std::string>{"1", "2", "4"}));
}

}  // namespace
}  // namespace backflow
