#include <gtest/gtest.h>

#include <chrono>

#include "config/cron.h"

namespace backflow {
namespace {

using namespace std::chrono;

WallTime At(int y, unsigned mo, unsigned d, int h, int mi, int s = 0) {
  return time_point_cast<WallTime::duration>(sys_days(year(y) / mo / d) + hours(h) + minutes(mi) +
                                             seconds(s));
}

WallTime Next(const std::string& expr, WallTime after) {
  auto spec = ParseCron(expr);
  EXPECT_TRUE(spec.has_value()) << expr;
  if (!spec) return WallTime::max();
  return NextCronTime(*spec, after);
}

TEST(ParseCron, AcceptsTheSupportedForms) {
  for (const char* expr : {"* * * * *", "*/15 * * * *", "0 8-18 * * 1-5", "0,30 * * * *",
                           "5-50/5 * * * *", "0 0 1 jan,jul *", "0 0 * * SUN", "0 0 * * 7",
                           "  0   0 * * *  ", "0 10/2 * * *"}) {
    EXPECT_TRUE(ParseCron(expr).has_value()) << expr;
  }
}

TEST(ParseCron, RejectsMalformedExpressions) {
  for (const char* expr : {"", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *",
                           "* * 0 * *", "* * 32 * *", "* * * 13 *", "* * * * 8", "*/0 * * * *",
                           "5-1 * * * *", "1,,2 * * * *", "1, * * * *", "a * * * *",
                           "*/x * * * *", "0 0 31 2 *", "-1 * * * *"}) {
    EXPECT_FALSE(ParseCron(expr).has_value()) << "'" << expr << "'";
  }
}

TEST(NextCronTime, EveryMinuteIsTheNextWholeMinute) {
  EXPECT_EQ(Next("* * * * *", At(2026, 3, 4, 10, 20, 30)), At(2026, 3, 4, 10, 21));
  // Strictly after: an exact match is not returned again.
  EXPECT_EQ(Next("* * * * *", At(2026, 3, 4, 10, 20)), At(2026, 3, 4, 10, 21));
}

TEST(NextCronTime, Steps) {
  EXPECT_EQ(Next("*/15 * * * *", At(2026, 3, 4, 10, 20)), At(2026, 3, 4, 10, 30));
  EXPECT_EQ(Next("*/15 * * * *", At(2026, 3, 4, 10, 45)), At(2026, 3, 4, 11, 0));
  EXPECT_EQ(Next("*/15 * * * *", At(2026, 12, 31, 23, 50)), At(2027, 1, 1, 0, 0));
  EXPECT_EQ(Next("10-40/10 * * * *", At(2026, 3, 4, 10, 41)), At(2026, 3, 4, 11, 10));
  EXPECT_EQ(Next("0 */6 * * *", At(2026, 3, 4, 13, 0)), At(2026, 3, 4, 18, 0));
}

TEST(NextCronTime, DayOfWeek) {
  // 2026-03-04 is a Wednesday.
  EXPECT_EQ(Next("0 9 * * 1", At(2026, 3, 4, 12, 0)), At(2026, 3, 9, 9, 0));   // Monday
  EXPECT_EQ(Next("0 9 * * 0", At(2026, 3, 4, 12, 0)), At(2026, 3, 8, 9, 0));   // Sunday
  EXPECT_EQ(Next("0 9 * * 7", At(2026, 3, 4, 12, 0)), At(2026, 3, 8, 9, 0));   // 7 = Sunday
  EXPECT_EQ(Next("0 9 * * fri", At(2026, 3, 4, 12, 0)), At(2026, 3, 6, 9, 0));
  // Weekdays, office hours: Friday evening -> Monday morning.
  EXPECT_EQ(Next("*/30 8-18 * * 1-5", At(2026, 3, 6, 18, 45)), At(2026, 3, 9, 8, 0));
}

TEST(NextCronTime, DayOfMonthAndMonth) {
  EXPECT_EQ(Next("0 0 1 * *", At(2026, 3, 4, 0, 0)), At(2026, 4, 1, 0, 0));
  EXPECT_EQ(Next("30 2 15 6 *", At(2026, 7, 1, 0, 0)), At(2027, 6, 15, 2, 30));
  // The 31st skips months that have no 31st.
  EXPECT_EQ(Next("0 0 31 * *", At(2026, 3, 31, 12, 0)), At(2026, 5, 31, 0, 0));
  // February 29th waits for a leap year.
  EXPECT_EQ(Next("0 0 29 2 *", At(2026, 1, 1, 0, 0)), At(2028, 2, 29, 0, 0));
}

TEST(NextCronTime, BothDayFieldsRestrictedMatchEither) {
  // The 13th, or any Friday (Vixie cron): after Wed 2026-03-04 comes Fri 03-06.
  EXPECT_EQ(Next("0 0 13 * 5", At(2026, 3, 4, 0, 0)), At(2026, 3, 6, 0, 0));
  // After Friday 2026-04-10 comes Monday the 13th, before Friday the 17th.
  EXPECT_EQ(Next("0 0 13 * 5", At(2026, 4, 10, 12, 0)), At(2026, 4, 13, 0, 0));
}

TEST(NextRunTime, EveryAddsTheInterval) {
  Schedule s;
  s.every = Millis(15 * 60 * 1000);
  EXPECT_EQ(NextRunTime(s, At(2026, 3, 4, 10, 0)), At(2026, 3, 4, 10, 15));
}

TEST(NextRunTime, CronAndEmptySchedules) {
  Schedule cron;
  cron.cron = "0 * * * *";
  EXPECT_EQ(NextRunTime(cron, At(2026, 3, 4, 10, 1)), At(2026, 3, 4, 11, 0));
  EXPECT_EQ(NextRunTime(Schedule{}, At(2026, 3, 4, 10, 1)), WallTime::max());
  Schedule bad;
  bad.cron = "not cron";
  EXPECT_EQ(NextRunTime(bad, At(2026, 3, 4, 10, 1)), WallTime::max());
}

}  // namespace
}  // namespace backflow
