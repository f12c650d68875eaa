#include <gtest/gtest.h>

#include "backflow/clock.h"
#include "backflow/destination.h"
#include "backflow/status.h"
#include "config/yaml_reader.h"
#include "support/test_postgres.h"

namespace backflow {
namespace {

TEST(Status, CarriesCodeAndMessage) {
  Status s = Status::Unavailable("connection refused");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.ToString(), "Unavailable: connection refused");
  Result<int> r = 3;
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(*r, 3);
  Result<int> e = Status::Failed("x");
  EXPECT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kFailed);
}

TEST(ManualClock, SleepAdvancesWithoutWaiting) {
  ManualClock clock;
  SteadyTime t0 = clock.Now();
  clock.SleepFor(std::chrono::minutes(10));
  EXPECT_EQ(clock.Now() - t0, std::chrono::minutes(10));
  EXPECT_EQ(clock.slept(), std::chrono::minutes(10));
}

TEST(SeededRandom, IsRepeatable) {
  auto a = Random::Seeded(42), b = Random::Seeded(42);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a->Next(), b->Next());
  double u = a->Uniform();
  EXPECT_GE(u, 0.0);
  EXPECT_LT(u, 1.0);
}

TEST(CommonClassification, FollowsFluentBit) {
  HttpResponse r;
  r.status = 429;
  r.headers = {{"retry-after", "2"}};
  BatchResult b = ClassifyCommonFailure(r);
  EXPECT_EQ(b.verdict, Verdict::kRetry);
  EXPECT_TRUE(b.rate_limited);
  ASSERT_TRUE(b.retry_after);
  EXPECT_EQ(*b.retry_after, Millis(2000));
  r.status = 503;
  EXPECT_EQ(ClassifyCommonFailure(r).verdict, Verdict::kRetry);
  r.status = 400;
  EXPECT_EQ(ClassifyCommonFailure(r).verdict, Verdict::kSplit);
  r.status = 401;
  EXPECT_EQ(ClassifyCommonFailure(r).verdict, Verdict::kFatal);
  r.status = 0;
  r.error = TransportError::kTimeout;
  EXPECT_EQ(ClassifyCommonFailure(r).verdict, Verdict::kRetry);
}

TEST(YamlReader, ReportsPathsAndUnknownKeys) {
  ConfigErrors errors;
  YAML::Node n = YAML::Load("a: 10s\nb: nope\nc: ${BF_UNSET_VAR}\nzz: 1\n");
  YamlReader r(n, "top", &errors, [](const std::string&) { return std::nullopt; });
  EXPECT_EQ(r.Duration("a"), Millis(10000));
  EXPECT_FALSE(r.Duration("b"));
  EXPECT_FALSE(r.String("c"));
  r.Finish();
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0].path, "top.b");
  EXPECT_NE(errors[1].message.find("BF_UNSET_VAR"), std::string::npos);
  EXPECT_EQ(errors[2].path, "top.zz");
  EXPECT_EQ(errors[2].message, "unknown key");
}

TEST(TestPostgres, IsARealServer) {
  testing::TestDatabase db;
  db.Exec("CREATE TABLE t (x int); INSERT INTO t VALUES (1), (2);");
  EXPECT_EQ(db.Count("SELECT count(*) FROM t"), 2);
}

}  // namespace
}  // namespace backflow
