#include "observability/telemetry.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sstream>
#include <vector>

#include "observability/log.h"

namespace backflow {
namespace {

class TelemetryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ObservabilityConfig c;
    c.log_level = "info";
    log::Init(c);
    log::SetSinkForTesting(&captured_);
  }
  void TearDown() override {
    log::SetSinkForTesting(nullptr);
    log::Init(ObservabilityConfig{});
  }
  void SetLevel(const std::string& level) {
    ObservabilityConfig c;
    c.log_level = level;
    log::Init(c);
  }
  std::vector<nlohmann::json> Lines() const {
    std::vector<nlohmann::json> out;
    std::istringstream in(captured_);
    std::string line;
    while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
    return out;
  }
  std::vector<nlohmann::json> LinesWithMsg(const std::string& msg) const {
    std::vector<nlohmann::json> out;
    for (auto& j : Lines())
      if (j["msg"] == msg) out.push_back(j);
    return out;
  }

  std::string captured_;
  BackflowMetrics metrics_;
  MetricsTelemetry telemetry_{&metrics_};
  ManualClock clock_;
};

TEST_F(TelemetryTest, EventsBumpTheirSeries) {
  telemetry_.ApiRequest("sfdc", 200, std::chrono::milliseconds(40));
  telemetry_.ApiRequest("sfdc", 429, std::chrono::milliseconds(10));
  telemetry_.ApiRequest("hubspot", 0, std::chrono::seconds(30));
  telemetry_.RateLimitWait("sfdc", Millis(1500));
  telemetry_.RateLimitWait("sfdc", Millis(500));
  telemetry_.Retry("sfdc", "rate_limited", 1, Millis(1000));
  telemetry_.Retry("sfdc", "server_error", 2, Millis(2000));
  telemetry_.Rows("lead_scores", "sfdc", "delivered", 100);

  EXPECT_EQ(metrics_.api_requests_total->Value({"sfdc", "200"}), 1);
  EXPECT_EQ(metrics_.api_requests_total->Value({"sfdc", "429"}), 1);
  EXPECT_EQ(metrics_.api_requests_total->Value({"hubspot", "0"}), 1);
  auto h = metrics_.api_request_duration->Get({"sfdc"});
  EXPECT_EQ(h.count, 2u);
  EXPECT_NEAR(h.sum, 0.05, 1e-9);
  EXPECT_DOUBLE_EQ(metrics_.rate_limit_wait_seconds->Value({"sfdc"}), 2.0);
  EXPECT_EQ(metrics_.retries_total->Value({"sfdc", "rate_limited"}), 1);
  EXPECT_EQ(metrics_.retries_total->Value({"sfdc", "server_error"}), 1);
  EXPECT_EQ(metrics_.rows_total->Value({"lead_scores", "sfdc", "delivered"}), 100);
  // Per-request events are debug lines only.
  EXPECT_TRUE(captured_.empty()) << captured_;

  DestinationSummary s = telemetry_.TakeSummary("sfdc");
  EXPECT_EQ(s.api_requests, 2);
  EXPECT_EQ(s.api_errors, 1);
  EXPECT_EQ(s.rate_limit_waits, 2);
  EXPECT_EQ(s.rate_limit_waited, Millis(2000));
  EXPECT_EQ(s.retries, 2);
  EXPECT_EQ(s.retries_by_category["rate_limited"], 1);
  EXPECT_EQ(telemetry_.TakeSummary("sfdc").api_requests, 0);  // reset
}

TEST_F(TelemetryTest, DebugLevelLogsEachRequestEvent) {
  SetLevel("debug");
  telemetry_.RateLimitWait("sfdc", Millis(250));
  telemetry_.Retry("sfdc", "timeout", 3, Millis(4000));
  auto waits = LinesWithMsg("Request waited for the rate limiter.");
  ASSERT_EQ(waits.size(), 1u);
  EXPECT_EQ(waits[0]["level"], "debug");
  EXPECT_EQ(waits[0]["waited_ms"], 250);
  auto retries = LinesWithMsg("Request will be retried.");
  ASSERT_EQ(retries.size(), 1u);
  EXPECT_EQ(retries[0]["attempt"], 3);
  EXPECT_EQ(retries[0]["category"], "timeout");
}

TEST_F(TelemetryTest, PauseWarnsAndSetsTheGauge) {
  telemetry_.Paused("sfdc", "daily API quota share reached");
  EXPECT_EQ(metrics_.destination_paused->Value({"sfdc"}), 1);
  auto lines = LinesWithMsg("Destination paused.");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["level"], "warn");
  EXPECT_EQ(lines[0]["reason"], "daily API quota share reached");
  telemetry_.Paused("sfdc", "");
  EXPECT_EQ(metrics_.destination_paused->Value({"sfdc"}), 0);
  EXPECT_EQ(LinesWithMsg("Destination resumed.").size(), 1u);
}

RunRecord SampleRun(ManualClock& clock) {
  RunRecord run;
  run.run_id = 42;
  run.sync_name = "lead_scores";
  run.destination = "sfdc";
  run.started_at = clock.WallNow();
  run.status = "partial";
  run.counts.rows_read = 5200;
  run.counts.rows_changed = 5000;
  run.counts.rows_attempted = 5000;
  run.counts.rows_succeeded = 4980;
  run.counts.rows_failed = 20;
  run.counts.rows_rejected = 3;
  run.counts.api_requests = 25;
  run.error_summary = {{"INVALID_EMAIL_ADDRESS", 15}, {"REQUIRED_FIELD_MISSING", 5}};
  return run;
}

TEST_F(TelemetryTest, RunLogsOneLineAtStartAndOneAtEndWithReasonsOnce) {
  RunEvents events(&metrics_, &telemetry_, &clock_);
  RunRecord run = SampleRun(clock_);
  events.Started(run);
  telemetry_.RateLimitWait("sfdc", Millis(300));
  telemetry_.Retry("sfdc", "rate_limited", 1, Millis(1000));
  clock_.Advance(std::chrono::milliseconds(2500));
  RunDetails details;
  details.examples["INVALID_EMAIL_ADDRESS"] = "u_17";
  events.Finished(run, details);

  auto started = LinesWithMsg("Run started.");
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(started[0]["run_id"], 42);
  EXPECT_EQ(started[0]["sync"], "lead_scores");
  EXPECT_EQ(started[0]["destination"], "sfdc");

  auto finished = LinesWithMsg("Run finished.");
  ASSERT_EQ(finished.size(), 1u);
  const auto& f = finished[0];
  EXPECT_EQ(f["level"], "warn");
  EXPECT_EQ(f["status"], "partial");
  EXPECT_EQ(f["rows_read"], 5200);
  EXPECT_EQ(f["rows_changed"], 5000);
  EXPECT_EQ(f["rows_attempted"], 5000);
  EXPECT_EQ(f["rows_succeeded"], 4980);
  EXPECT_EQ(f["rows_failed"], 20);
  EXPECT_EQ(f["rows_rejected"], 3);
  EXPECT_EQ(f["rows_skipped"], 0);
  EXPECT_EQ(f["rows_deleted"], 0);
  EXPECT_EQ(f["api_requests"], 25);
  EXPECT_EQ(f["duration_ms"], 2500);
  EXPECT_EQ(f["rate_limit_waits"], 1);
  EXPECT_EQ(f["retries"], 1);

  auto reasons = LinesWithMsg("Records failed.");
  ASSERT_EQ(reasons.size(), 2u);
  EXPECT_EQ(reasons[0]["reason"], "INVALID_EMAIL_ADDRESS");
  EXPECT_EQ(reasons[0]["count"], 15);
  EXPECT_EQ(reasons[0]["example_warehouse_id"], "u_17");
  EXPECT_EQ(reasons[1]["reason"], "REQUIRED_FIELD_MISSING");
  EXPECT_FALSE(reasons[1].contains("example_warehouse_id"));
  EXPECT_EQ(Lines().size(), 4u);  // start, two reasons, end: nothing per row

  EXPECT_EQ(metrics_.runs_total->Value({"lead_scores", "partial"}), 1);
  EXPECT_EQ(metrics_.rows_total->Value({"lead_scores", "sfdc", "delivered"}), 4980);
  EXPECT_EQ(metrics_.rows_total->Value({"lead_scores", "sfdc", "failed"}), 20);
  EXPECT_EQ(metrics_.rows_total->Value({"lead_scores", "sfdc", "rejected"}), 3);
  EXPECT_DOUBLE_EQ(metrics_.last_success_timestamp->Value({"lead_scores"}),
                   UnixSeconds(clock_.WallNow()));
}

TEST_F(TelemetryTest, RowsReportedDuringTheRunAreNotCountedTwice) {
  RunEvents events(&metrics_, &telemetry_, &clock_);
  RunRecord run = SampleRun(clock_);
  events.Started(run);
  telemetry_.Rows("lead_scores", "sfdc", "delivered", 4000);  // first batches confirmed
  events.Finished(run);
  EXPECT_EQ(metrics_.rows_total->Value({"lead_scores", "sfdc", "delivered"}), 4980);
  EXPECT_EQ(metrics_.rows_total->Value({"lead_scores", "sfdc", "failed"}), 20);
  // A second run starts from zero reported rows.
  events.Finished(run);
  EXPECT_EQ(metrics_.rows_total->Value({"lead_scores", "sfdc", "delivered"}), 9960);
}

TEST_F(TelemetryTest, BlockedRunLogsAtErrorAndCountsNoSuccess) {
  RunEvents events(&metrics_, nullptr, &clock_);
  RunRecord run = SampleRun(clock_);
  run.counts = {};
  run.counts.rows_rejected = 900;
  run.error_summary = {{"Lead_Score__c: above max 100", 900}};
  run.message = "900 of 1000 rows (90%) broke the contract; max_invalid is 1%.";
  events.Blocked(run);
  auto blocked = LinesWithMsg("Run blocked.");
  ASSERT_EQ(blocked.size(), 1u);
  EXPECT_EQ(blocked[0]["level"], "error");
  EXPECT_EQ(blocked[0]["message"], run.message);
  auto finished = LinesWithMsg("Run finished.");
  ASSERT_EQ(finished.size(), 1u);
  EXPECT_EQ(finished[0]["status"], "blocked");
  EXPECT_EQ(finished[0]["level"], "error");
  EXPECT_EQ(metrics_.runs_total->Value({"lead_scores", "blocked"}), 1);
  EXPECT_EQ(metrics_.rows_total->Value({"lead_scores", "sfdc", "rejected"}), 900);
  EXPECT_EQ(metrics_.last_success_timestamp->Value({"lead_scores"}), 0);
}

TEST_F(TelemetryTest, PlanRunsCountNoRowsAndSucceededLogsAtInfo) {
  RunEvents events(&metrics_, &telemetry_, &clock_);
  RunRecord run = SampleRun(clock_);
  run.kind = "plan";
  run.status = "planned";
  run.error_summary.clear();
  events.Finished(run);
  EXPECT_EQ(LinesWithMsg("Run finished.")[0]["level"], "info");
  EXPECT_EQ(metrics_.runs_total->Value({"lead_scores", "planned"}), 1);
  EXPECT_EQ(metrics_.rows_total->Value({"lead_scores", "sfdc", "delivered"}), 0);

  events.RetryQueueDepth("lead_scores", 20, 2);
  EXPECT_EQ(metrics_.retry_queue_rows->Value({"lead_scores", "pending"}), 20);
  EXPECT_EQ(metrics_.retry_queue_rows->Value({"lead_scores", "dead"}), 2);
}

}  // namespace
}  // namespace backflow
