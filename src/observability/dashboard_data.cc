#include "observability/dashboard_data.h"

#include <cstdio>
#include <ctime>

namespace backflow {

std::string FormatWallTime(WallTime t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string FormatCount(long long n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

namespace {

nlohmann::json RunJson(const RunView& r) {
  nlohmann::json j = {{"run_id", r.run_id},
                      {"kind", r.kind},
                      {"status", r.status},
                      {"started_at", FormatWallTime(r.started_at)},
                      {"finished_at", r.finished_at ? nlohmann::json(FormatWallTime(*r.finished_at))
                                                    : nlohmann::json(nullptr)},
                      {"rows_read", r.read},
                      {"rows_changed", r.changed},
                      {"rows_attempted", r.attempted},
                      {"rows_succeeded", r.succeeded},
                      {"rows_failed", r.failed},
                      {"rows_rejected", r.rejected},
                      {"api_requests", r.api_requests},
                      {"forced", r.forced}};
  if (!r.message.empty()) j["message"] = r.message;
  return j;
}

}  // namespace

nlohmann::json DashboardJson(const DashboardData& data) {
  nlohmann::json syncs = nlohmann::json::array();
  nlohmann::json dests = nlohmann::json::array();
  for (const DestinationView& d : data.destinations) {
    nlohmann::json dj = {{"name", d.name}, {"type", d.type}, {"paused", d.paused}};
    if (d.paused) dj["paused_reason"] = d.paused_reason;
    dests.push_back(dj);
    for (const SyncView& s : d.syncs) {
      nlohmann::json runs = nlohmann::json::array();
      for (const RunView& r : s.recent_runs) runs.push_back(RunJson(r));
      nlohmann::json failures = nlohmann::json::array();
      for (const FailureReasonView& f : s.top_failures) {
        nlohmann::json fj = {{"reason", f.reason}, {"count", f.count}};
        if (!f.example.empty()) fj["example_warehouse_id"] = f.example;
        failures.push_back(fj);
      }
      syncs.push_back({{"name", s.name},
                       {"moment", s.moment},
                       {"destination", s.destination},
                       {"destination_type", d.type},
                       {"object", s.object},
                       {"destination_paused", d.paused},
                       {"next_run", s.next_run ? nlohmann::json(FormatWallTime(*s.next_run))
                                               : nlohmann::json(nullptr)},
                       {"retry_queue", {{"pending", s.retry_pending}, {"dead", s.retry_dead}}},
                       {"top_failures", failures},
                       {"runs", runs}});
    }
  }
  return {{"generated_at", FormatWallTime(data.generated_at)},
          {"destinations", dests},
          {"syncs", syncs}};
}

}  // namespace backflow
