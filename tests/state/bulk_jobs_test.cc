#include "state/bulk_jobs.h"

#include <gtest/gtest.h>

#include "state_fixture.h"

namespace backflow::testing {
namespace {

class BulkJobsTest : public StateTest {
 protected:
  static BulkJobEntry Entry(const std::string& job_id) {
    BulkJobEntry e;
    e.job_id = job_id;
    e.sync_name = "lead_scores";
    e.destination = "sfdc";
    e.state = BulkJobState::kUploadComplete;
    e.fields = {"Email", "Score"};
    return e;
  }
  // A new record and one delivered before (PII previous values hold their hash).
  static std::vector<Record> Sent() {
    std::vector<Record> records = {
        MakeRecord("w1", "ann@example.com", "10", "h1"),
        MakeRecord("w2", "bob@example.com", "20", "h2", /*previously_delivered=*/true)};
    records[1].destination_id = "00Q2";
    records[1].previous_values = {std::string("sha256:old"), std::string("19")};
    records[1].changed_fields = {"Score"};
    return records;
  }
};

TEST_F(BulkJobsTest, SavedRecordsComeBackAsSentUntilTheJobIsFinished) {
  PgBulkJobJournal journal(Secret(db_.dsn()), kSchema);
  BulkJobEntry entry = Entry("J1");
  entry.records = Sent();
  ASSERT_TRUE(journal.Save(entry).ok());

  auto listed = journal.ListUnfinished("lead_scores", "sfdc");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 1u);
  const BulkJobEntry& back = (*listed)[0];
  EXPECT_EQ(back.job_id, "J1");
  EXPECT_EQ(back.state, BulkJobState::kUploadComplete);
  EXPECT_EQ(back.fields, entry.fields);
  ASSERT_EQ(back.records.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const Record& want = entry.records[i];
    const Record& got = back.records[i];
    EXPECT_EQ(got.warehouse_id, want.warehouse_id);
    EXPECT_EQ(got.row_hash, want.row_hash);
    EXPECT_EQ(got.destination_id, want.destination_id);
    EXPECT_EQ(got.previously_delivered, want.previously_delivered);
    EXPECT_EQ(got.changed_fields, want.changed_fields);
    EXPECT_EQ(got.previous_values, want.previous_values);
    ASSERT_EQ(got.values.size(), want.values.size());
    for (size_t j = 0; j < want.values.size(); ++j) {
      EXPECT_EQ(got.values[j].kind, want.values[j].kind);
      EXPECT_EQ(got.values[j].text, want.values[j].text);
    }
  }

  ASSERT_TRUE(journal.Finish("J1", BulkJobState::kJobComplete).ok());
  listed = journal.ListUnfinished("lead_scores", "sfdc");
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
}

TEST_F(BulkJobsTest, WithheldValuesNeverReachTheTable) {
  PgBulkJobJournal journal(Secret(db_.dsn()), kSchema);
  const std::vector<Record> sent = Sent();
  ASSERT_TRUE(journal.SaveRecords(Entry("J1"), sent, /*withheld=*/{0}).ok());
  // What the default (copying) SaveRecords would have written, for comparison.
  BulkJobEntry copied = Entry("J2");
  copied.records = BulkJobJournal::WithheldCopy(sent, {0});
  ASSERT_TRUE(journal.Save(copied).ok());

  EXPECT_EQ(N("SELECT count(*) FROM bf_state.bulk_jobs WHERE records::text LIKE '%example.com%' "
              "OR records::text LIKE '%sha256:old%'"),
            0);
  EXPECT_EQ(Q("SELECT count(DISTINCT records::text) FROM bf_state.bulk_jobs"), "1");
  EXPECT_EQ(Q("SELECT array_to_string(warehouse_ids, ',') FROM bf_state.bulk_jobs "
              "WHERE job_id = 'J1'"),
            "w1,w2");

  auto listed = journal.ListUnfinished("lead_scores", "sfdc");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 2u);
  const std::vector<Record>& back = (*listed)[0].records;
  ASSERT_EQ(back.size(), 2u);
  EXPECT_TRUE(back[0].values[0].is_null());
  EXPECT_EQ(back[0].values[1].text, "10");
  EXPECT_FALSE(back[1].previous_values[0].has_value());
  EXPECT_EQ(back[1].previous_values[1], "19");
  // The records written from were not touched.
  EXPECT_EQ(sent[0].values[0].text, "ann@example.com");
}

}  // namespace
}  // namespace backflow::testing
