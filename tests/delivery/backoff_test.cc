#include "delivery/backoff.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace backflow {
namespace {

RetryConfig Retry(long long initial_ms, long long max_ms) {
  RetryConfig c;
  c.initial_backoff = Millis(initial_ms);
  c.max_backoff = Millis(max_ms);
  return c;
}

TEST(BackoffTest, CapDoublesFromInitialUpToMax) {
  auto random = Random::Seeded(1);
  Backoff backoff(Retry(1000, 10000), random.get());
  EXPECT_EQ(backoff.Cap(1), Millis(1000));
  EXPECT_EQ(backoff.Cap(2), Millis(2000));
  EXPECT_EQ(backoff.Cap(3), Millis(4000));
  EXPECT_EQ(backoff.Cap(4), Millis(8000));
  EXPECT_EQ(backoff.Cap(5), Millis(10000));
  EXPECT_EQ(backoff.Cap(500), Millis(10000));  // no overflow
}

TEST(BackoffTest, FullJitterIsUniformOverZeroToCap) {
  auto random = Random::Seeded(42);
  Backoff backoff(Retry(1000, 600000), random.get());
  const int n = 20000;
  const double cap = 16000;  // attempt 5
  double sum = 0;
  int below_quarter = 0, above_three_quarters = 0;
  std::set<long long> distinct;
  long long lo = 1 << 30, hi = 0;
  for (int i = 0; i < n; ++i) {
    const long long d = backoff.Delay(5).count();
    ASSERT_GE(d, 0);
    ASSERT_LE(d, 16000);
    sum += d;
    lo = std::min(lo, d);
    hi = std::max(hi, d);
    if (d < cap / 4) ++below_quarter;
    if (d > cap * 3 / 4) ++above_three_quarters;
    distinct.insert(d);
  }
  EXPECT_NEAR(sum / n, cap / 2, cap * 0.02);
  EXPECT_NEAR(below_quarter / double(n), 0.25, 0.02);
  EXPECT_NEAR(above_three_quarters / double(n), 0.25, 0.02);
  EXPECT_LT(lo, 200);     // reaches near zero (full jitter, not equal jitter)
  EXPECT_GT(hi, 15800);   // and near the cap
  EXPECT_GT(distinct.size(), 5000u);
}

TEST(BackoffTest, RetryAfterOverridesWhenLarger) {
  auto random = Random::Seeded(7);
  Backoff backoff(Retry(100, 1000), random.get());
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(backoff.Delay(1, Millis(5000)), Millis(5000));
    EXPECT_LE(backoff.Delay(1, Millis(0)), Millis(100));
  }
  // A Retry-After below the jitter does not shorten it.
  int raised = 0;
  for (int i = 0; i < 1000; ++i) {
    const Millis d = backoff.Delay(4, Millis(400));
    EXPECT_GE(d, Millis(400));
    EXPECT_LE(d, Millis(800));
    if (d > Millis(400)) ++raised;
  }
  EXPECT_GT(raised, 300);
}

}  // namespace
}  // namespace backflow
