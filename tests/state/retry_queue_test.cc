#include "state/retry_queue.h"

#include <gtest/gtest.h>

#include "state_fixture.h"

namespace backflow::testing {
namespace {

using RetryQueueTest = StateTest;

TEST_F(RetryQueueTest, DepthsDeadLettersAndTopErrors) {
  std::vector<Record> records = {MakeRecord("u1", "a@example.com", "1", "h1"),
                                 MakeRecord("u2", "b@example.com", "2", "h2"),
                                 MakeRecord("u3", "c@example.com", "3", "h3")};
  std::vector<RecordOutcome> outcomes = {
      Failed(OutcomeKind::kPermanent, "INVALID_EMAIL", "Email: invalid"),
      Failed(OutcomeKind::kPermanent, "INVALID_EMAIL", "Email: invalid"),
      Failed(OutcomeKind::kRetryable, "HTTP_503", "unavailable")};
  ASSERT_TRUE(Commit(records, outcomes, 1, FixedNow()).ok());
  // u1 fails twice more and is dead (max_attempts 3).
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(Commit({records[0]}, {outcomes[0]}, 2, FixedNow()).ok());

  RetryQueue queue(conn_.get(), kSchema);
  auto before = queue.Depth("lead_scores", FixedNow());
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  EXPECT_EQ(before->pending, 2);
  EXPECT_EQ(before->dead, 1);
  EXPECT_EQ(before->due, 0);  // first backoff is 1s
  ASSERT_TRUE(before->next_due.has_value());
  EXPECT_EQ(*before->next_due, FixedNow() + std::chrono::seconds(1));
  auto later = queue.Depth("lead_scores", FixedNow() + std::chrono::seconds(5));
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->due, 2);
  auto none = queue.Depth("nothing", FixedNow());
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->pending + none->dead, 0);
  auto all = queue.Depths(FixedNow());
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->at("lead_scores").pending, 2);

  auto dead = queue.ListDead("lead_scores", 10);
  ASSERT_TRUE(dead.ok()) << dead.status().ToString();
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ((*dead)[0].warehouse_id, "u1");
  EXPECT_EQ((*dead)[0].attempts, 3);
  EXPECT_EQ((*dead)[0].error_category, "INVALID_EMAIL");
  EXPECT_EQ((*dead)[0].payload.find("a@example.com"), std::string::npos);

  auto top = queue.TopErrors("lead_scores", 5);
  ASSERT_TRUE(top.ok()) << top.status().ToString();
  ASSERT_EQ(top->size(), 2u);
  EXPECT_EQ((*top)[0].error_category, "INVALID_EMAIL");
  EXPECT_EQ((*top)[0].count, 2);
  EXPECT_EQ((*top)[0].example, "Email: invalid");
  EXPECT_EQ((*top)[1].count, 1);

  auto requeued = queue.RequeueDead("lead_scores", FixedNow());
  ASSERT_TRUE(requeued.ok());
  EXPECT_EQ(*requeued, 1);
  auto after = queue.Depth("lead_scores", FixedNow());
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->dead, 0);
  EXPECT_EQ(after->due, 1);
  // A requeued row gets max_attempts fresh attempts.
  ASSERT_TRUE(Commit({records[0]}, {outcomes[0]}, 3, FixedNow()).ok());
  EXPECT_EQ(Q("SELECT attempts || status FROM bf_state.retry_queue WHERE warehouse_id = 'u1'"),
            "1pending");
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(Commit({records[0]}, {outcomes[0]}, 4, FixedNow()).ok());
  auto purged = queue.PurgeDead("lead_scores");
  ASSERT_TRUE(purged.ok());
  EXPECT_EQ(*purged, 1);
  EXPECT_EQ(N("SELECT count(*) FROM bf_state.retry_queue"), 2);
}

}  // namespace
}  // namespace backflow::testing
