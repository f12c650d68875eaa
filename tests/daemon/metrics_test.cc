// GET /metrics of a running `backflow run`: valid Prometheus exposition, and its counters
// tell the same story as sync_runs.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include "daemon/daemon_fixture.h"
#include "daemon/exposition.h"

namespace backflow::daemon_test {
namespace {

using Labels = std::map<std::string, std::string>;

TEST_F(DaemonTest, MetricsParseAndMatchTheRunsInTheStateSchema) {
  backflow::testing::TestDatabase db;
  SeedContacts(db.dsn(), 300, {42});
  WriteConfig(db.dsn(), ContactSync("contacts", "Score-based routing in HubSpot workflows",
                                    "contacts", "{ every: 1h }"));
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  ASSERT_TRUE(WaitForFinishedRuns(db.dsn(), "contacts", 1)) << DaemonLog();

  const std::string finished = " FROM backflow.sync_runs WHERE sync_name = 'contacts' AND "
                               "status <> 'running'";
  auto db_number = [&](const std::string& select) {
    return std::stod(db.Scalar("SELECT coalesce(" + select + ", 0)" + finished));
  };
  // The run's row is committed before or after its metrics are bumped: wait for both.
  std::vector<Sample> samples;
  std::string text;
  const bool agree = WaitFor([&] {
    auto a = Get("/metrics");
    if (!a || a->status != 200) return false;
    text = a->body;
    std::vector<Sample> parsed;
    {
      ::testing::TestPartResultArray ignored;  // grammar checked once, below
      ::testing::ScopedFakeTestPartResultReporter quiet(
          ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &ignored);
      parsed = ParseExposition(text);
    }
    samples = parsed;
    return SumSamples(samples, "backflow_runs_total", {{"sync", "contacts"}}) ==
               db_number("count(*)") &&
           SumSamples(samples, "backflow_rows_total",
                      {{"sync", "contacts"}, {"outcome", "delivered"}}) ==
               db_number("sum(rows_succeeded)");
  }, seconds(10), milliseconds(100));

  auto a = Get("/metrics");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->status, 200);
  EXPECT_NE(a->content_type.find("text/plain"), std::string::npos) << a->content_type;
  EXPECT_NE(a->content_type.find("version=0.0.4"), std::string::npos) << a->content_type;
  samples = ParseExposition(a->body);  // every line must be valid exposition
  EXPECT_TRUE(agree) << a->body;

  // The numbers themselves: 300 rows, one refused by HubSpot.
  EXPECT_EQ(db_number("sum(rows_succeeded)"), 299);
  EXPECT_EQ(db_number("sum(rows_failed)"), 1);
  EXPECT_EQ(SumSamples(samples, "backflow_rows_total",
                       {{"sync", "contacts"}, {"destination", "hubspot"}, {"outcome", "delivered"}}),
            db_number("sum(rows_succeeded)"));
  EXPECT_EQ(SumSamples(samples, "backflow_rows_total", {{"sync", "contacts"}, {"outcome", "failed"}}),
            db_number("sum(rows_failed)"));
  EXPECT_EQ(SumSamples(samples, "backflow_runs_total", {{"sync", "contacts"}}),
            db_number("count(*)"));
  for (const std::string status : {"succeeded", "partial", "failed", "blocked"})
    EXPECT_EQ(SumSamples(samples, "backflow_runs_total", {{"sync", "contacts"}, {"status", status}}),
              std::stod(db.Scalar("SELECT count(*)" + finished + " AND status = '" + status + "'")))
        << status;
  // HubSpot answered every write request the runs made.
  EXPECT_GE(SumSamples(samples, "backflow_api_requests_total", {{"destination", "hubspot"}}),
            db_number("sum(api_requests)"));
  EXPECT_GT(db_number("sum(api_requests)"), 0);
  // The rejected row is waiting in the retry queue, and the gauge says so.
  EXPECT_EQ(SumSamples(samples, "backflow_retry_queue_rows", {{"sync", "contacts"}}),
            std::stod(db.Scalar("SELECT count(*) FROM backflow.retry_queue WHERE sync_name = "
                                "'contacts' AND status IN ('pending', 'dead')")));
  // No secret in what a scraper sees.
  EXPECT_EQ(a->body.find("sandbox-hubspot-token"), std::string::npos);

  ASSERT_NO_FATAL_FAILURE(StopDaemon());
}

}  // namespace
}  // namespace backflow::daemon_test
