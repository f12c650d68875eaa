#include "observability/telemetry.h"

#include <algorithm>
#include <vector>

#include "observability/log.h"

namespace backflow {

double UnixSeconds(WallTime t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

void MetricsTelemetry::ApiRequest(const std::string& destination, int code,
                                  std::chrono::microseconds latency) {
  const double seconds = std::chrono::duration<double>(latency).count();
  metrics_->api_requests_total->Add({destination, std::to_string(code)});
  metrics_->api_request_duration->Observe({destination}, seconds);
  {
    std::lock_guard<std::mutex> lock(mu_);
    DestinationSummary& s = summaries_[destination];
    s.api_requests++;
    if (code == 0 || code >= 400) s.api_errors++;
  }
  if (log::Enabled(log::Level::kDebug))
    log::Debug("API request answered.", {{"destination", destination},
                                          {"code", code},
                                          {"latency_ms", latency.count() / 1000.0}});
}

void MetricsTelemetry::RateLimitWait(const std::string& destination, Millis waited) {
  metrics_->rate_limit_wait_seconds->Add({destination},
                                         std::chrono::duration<double>(waited).count());
  {
    std::lock_guard<std::mutex> lock(mu_);
    DestinationSummary& s = summaries_[destination];
    s.rate_limit_waits++;
    s.rate_limit_waited += waited;
  }
  if (log::Enabled(log::Level::kDebug))
    log::Debug("Request waited for the rate limiter.",
               {{"destination", destination}, {"waited_ms", waited.count()}});
}

void MetricsTelemetry::Retry(const std::string& destination, const std::string& category,
                             int attempt, Millis backoff) {
  metrics_->retries_total->Add({destination, category});
  {
    std::lock_guard<std::mutex> lock(mu_);
    DestinationSummary& s = summaries_[destination];
    s.retries++;
    s.retries_by_category[category]++;
  }
  if (log::Enabled(log::Level::kDebug))
    log::Debug("Request will be retried.", {{"destination", destination},
                                             {"category", category},
                                             {"attempt", attempt},
                                             {"backoff_ms", backoff.count()}});
}

void MetricsTelemetry::Paused(const std::string& destination, const std::string& reason) {
  if (reason.empty() || reason == "resumed") {
    metrics_->destination_paused->Set({destination}, 0);
    log::Info("Destination resumed.", {{"destination", destination}});
    return;
  }
  metrics_->destination_paused->Set({destination}, 1);
  {
    std::lock_guard<std::mutex> lock(mu_);
    summaries_[destination].pauses++;
  }
  log::Warn("Destination paused.", {{"destination", destination}, {"reason", reason}});
}

void MetricsTelemetry::Rows(const std::string& sync, const std::string& destination,
                            const std::string& outcome, long long count) {
  if (count <= 0) return;
  metrics_->rows_total->Add({sync, destination, outcome}, static_cast<double>(count));
  std::lock_guard<std::mutex> lock(mu_);
  reported_[{sync, destination}][outcome] += count;
}

DestinationSummary MetricsTelemetry::TakeSummary(const std::string& destination) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = summaries_.find(destination);
  if (it == summaries_.end()) return {};
  DestinationSummary s = std::move(it->second);
  summaries_.erase(it);
  return s;
}

std::map<std::string, long long> MetricsTelemetry::TakeReportedRows(
    const std::string& sync, const std::string& destination) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = reported_.find({sync, destination});
  if (it == reported_.end()) return {};
  auto rows = std::move(it->second);
  reported_.erase(it);
  return rows;
}

namespace {

nlohmann::json RunFields(const RunRecord& run) {
  nlohmann::json f = {{"run_id", run.run_id},
                      {"sync", run.sync_name},
                      {"destination", run.destination},
                      {"kind", run.kind}};
  if (run.forced) f["forced"] = true;
  return f;
}

}  // namespace

void RunEvents::Started(const RunRecord& run) {
  // A sync that has never succeeded still shows up (at 0) in the staleness gauge.
  if (metrics_->last_success_timestamp->Value({run.sync_name}) == 0)
    metrics_->last_success_timestamp->Set({run.sync_name}, 0);
  log::Info("Run started.", RunFields(run));
}

void RunEvents::Finished(const RunRecord& run, const RunDetails& details) {
  const WallTime finished = run.finished_at.value_or(clock_->WallNow());
  const long long duration_ms =
      std::max<long long>(0, std::chrono::duration_cast<Millis>(finished - run.started_at).count());
  const RunCounts& c = run.counts;

  nlohmann::json f = RunFields(run);
  f["status"] = run.status;
  f["rows_read"] = c.rows_read;
  f["rows_changed"] = c.rows_changed;
  f["rows_attempted"] = c.rows_attempted;
  f["rows_succeeded"] = c.rows_succeeded;
  f["rows_failed"] = c.rows_failed;
  f["rows_rejected"] = c.rows_rejected;
  f["rows_skipped"] = c.rows_skipped;
  f["rows_deleted"] = c.rows_deleted;
  f["api_requests"] = c.api_requests;
  f["duration_ms"] = duration_ms;
  if (!run.message.empty()) f["message"] = run.message;

  DestinationSummary summary;
  if (telemetry_) summary = telemetry_->TakeSummary(run.destination);
  if (summary.rate_limit_waits > 0) {
    f["rate_limit_waits"] = summary.rate_limit_waits;
    f["rate_limit_wait_ms"] = summary.rate_limit_waited.count();
  }
  if (summary.retries > 0) {
    f["retries"] = summary.retries;
    f["retries_by_category"] = summary.retries_by_category;
  }

  if (run.status == "blocked") {
    log::Error("Run blocked.", {{"run_id", run.run_id},
                                {"sync", run.sync_name},
                                {"destination", run.destination},
                                {"message", run.message}});
  }

  // Reasons, most frequent first: one line each, never one per row.
  std::vector<std::pair<std::string, long long>> reasons(run.error_summary.begin(),
                                                         run.error_summary.end());
  std::stable_sort(reasons.begin(), reasons.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  for (const auto& [reason, count] : reasons) {
    nlohmann::json rf = {{"run_id", run.run_id},
                         {"sync", run.sync_name},
                         {"destination", run.destination},
                         {"reason", reason},
                         {"count", count}};
    auto ex = details.examples.find(reason);
    if (ex != details.examples.end()) rf["example_warehouse_id"] = ex->second;
    log::Warn("Records failed.", rf);
  }

  if (run.status == "succeeded" || run.status == "planned") {
    log::Info("Run finished.", f);
  } else if (run.status == "partial") {
    log::Warn("Run finished.", f);
  } else {
    log::Error("Run finished.", f);
  }

  metrics_->runs_total->Add({run.sync_name, run.status});
  std::map<std::string, long long> reported;
  if (telemetry_) reported = telemetry_->TakeReportedRows(run.sync_name, run.destination);
  if (run.kind != "plan" && run.status != "planned") {
    const std::pair<const char*, long long> outcomes[] = {
        {"delivered", c.rows_succeeded}, {"failed", c.rows_failed},
        {"rejected", c.rows_rejected},   {"skipped", c.rows_skipped},
        {"deleted", c.rows_deleted}};
    for (const auto& [outcome, total] : outcomes) {
      const long long missing = total - reported[outcome];
      if (missing > 0)
        metrics_->rows_total->Add({run.sync_name, run.destination, outcome},
                                  static_cast<double>(missing));
    }
    if (run.status == "succeeded" || run.status == "partial")
      metrics_->last_success_timestamp->Set({run.sync_name}, UnixSeconds(finished));
  }
}

void RunEvents::Blocked(const RunRecord& run, const RunDetails& details) {
  RunRecord blocked = run;
  blocked.status = "blocked";
  Finished(blocked, details);
}

void RunEvents::RetryQueueDepth(const std::string& sync, long long pending, long long dead) {
  metrics_->retry_queue_rows->Set({sync, "pending"}, static_cast<double>(pending));
  metrics_->retry_queue_rows->Set({sync, "dead"}, static_cast<double>(dead));
}

}  // namespace backflow
