// The daemon's Telemetry (include/backflow/telemetry.h) and the run-level log lines.
//
// MetricsTelemetry: every event bumps its metric in BackflowMetrics and writes its log
// line. Per-request events (API answers, rate-limit waits, retries) log at debug only; they
// are also summed per destination so the engine can log one count per run (TakeSummary).
// A pause logs at warn.
//
// RunEvents: the engine calls Started() when a run begins and Finished() when it ends
// (Blocked() for a run a contract or guard stopped). They write ONE line each ("Run
// started." / "Run finished." with every count, status, duration_ms and api_requests),
// one "Records failed." line per failure reason (with its count and an example
// warehouse_id when known), and bump backflow_runs_total, backflow_rows_total and
// backflow_last_success_timestamp_seconds. Both classes are thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "backflow/clock.h"
#include "backflow/telemetry.h"
#include "observability/metrics.h"
#include "state/run_store.h"

namespace backflow {

// What happened on one destination since the previous TakeSummary for it.
struct DestinationSummary {
  long long api_requests = 0;
  long long api_errors = 0;          // code 0 (no answer) or >= 400
  long long rate_limit_waits = 0;
  Millis rate_limit_waited{0};
  long long retries = 0;
  std::map<std::string, long long> retries_by_category;
  long long pauses = 0;
};

class MetricsTelemetry final : public Telemetry {
 public:
  // REQUIRES: metrics outlives this object.
  explicit MetricsTelemetry(BackflowMetrics* metrics) : metrics_(metrics) {}

  void ApiRequest(const std::string& destination, int code,
                  std::chrono::microseconds latency) override;
  void RateLimitWait(const std::string& destination, Millis waited) override;
  void Retry(const std::string& destination, const std::string& category, int attempt,
             Millis backoff) override;
  // An empty `reason` (or "resumed") means the destination resumed: the gauge goes back
  // to 0 and an info line is written.
  void Paused(const std::string& destination, const std::string& reason) override;
  void Rows(const std::string& sync, const std::string& destination, const std::string& outcome,
            long long count) override;

  // Returns and resets the destination's summary.
  DestinationSummary TakeSummary(const std::string& destination);
  // Returns and resets the rows reported through Rows() for (sync, destination), by
  // outcome, so RunEvents counts each row once however the engine reports it.
  std::map<std::string, long long> TakeReportedRows(const std::string& sync,
                                                    const std::string& destination);

 private:
  BackflowMetrics* metrics_;
  std::mutex mu_;
  std::map<std::string, DestinationSummary> summaries_;
  std::map<std::pair<std::string, std::string>, std::map<std::string, long long>> reported_;
};

// Extra facts about a finished run that RunRecord does not carry.
struct RunDetails {
  std::map<std::string, std::string> examples;  // failure reason -> an example warehouse_id
};

class RunEvents {
 public:
  // `telemetry` may be null (then rows come only from the run's counts and no summary is
  // logged). REQUIRES: metrics, telemetry and clock outlive this object.
  RunEvents(BackflowMetrics* metrics, MetricsTelemetry* telemetry, Clock* clock)
      : metrics_(metrics), telemetry_(telemetry), clock_(clock) {}

  void Started(const RunRecord& run);
  // Logs the end line (info when succeeded/planned, warn when partial, error when failed or
  // blocked), the failure reasons, the destination's rate-limit/retry summary when there
  // was any, and bumps the metrics. A plan run bumps no row counts. finished_at defaults to
  // the clock's wall time.
  void Finished(const RunRecord& run, const RunDetails& details = {});
  // Finished() for a run that was blocked: status "blocked", plus a "Run blocked." line
  // at error with the run's message.
  void Blocked(const RunRecord& run, const RunDetails& details = {});
  // Sets backflow_retry_queue_rows for the sync.
  void RetryQueueDepth(const std::string& sync, long long pending, long long dead);

 private:
  BackflowMetrics* metrics_;
  MetricsTelemetry* telemetry_;
  Clock* clock_;
};

// Seconds since the Unix epoch.
double UnixSeconds(WallTime t);

}  // namespace backflow
