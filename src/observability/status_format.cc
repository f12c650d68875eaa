#include "observability/status_format.h"

#include <algorithm>

#include "observability/dashboard.h"

namespace backflow {
namespace {

const char* StatusColour(const std::string& status) {
  if (status == "succeeded") return "\033[32m";
  if (status == "partial") return "\033[33m";
  if (status == "failed" || status == "blocked") return "\033[31m";
  if (status == "running") return "\033[34m";
  return "\033[90m";
}
constexpr const char* kReset = "\033[0m";
constexpr const char* kBold = "\033[1m";

// Columns are padded on the plain text, then coloured, so escapes never shift alignment.
struct Cell {
  std::string text;
  bool right = false;
  const char* colour = nullptr;
};

std::string RenderTable(const std::vector<std::vector<Cell>>& rows, bool tty,
                        const std::string& indent) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].text.size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line = indent;
    for (size_t i = 0; i < row.size(); ++i) {
      const std::string pad(widths[i] - row[i].text.size(), ' ');
      std::string text = row[i].text;
      if (tty && row[i].colour) text = row[i].colour + text + kReset;
      line += row[i].right ? pad + text : text + (i + 1 < row.size() ? pad : "");
      if (i + 1 < row.size()) line += "  ";
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

}  // namespace

std::string FormatStatusTable(const DashboardData& data, const StatusFormatOptions& options) {
  std::string out;
  bool first = true;
  for (const DestinationView& d : data.destinations) {
    for (const SyncView& s : d.syncs) {
      if (!first) out += "\n";
      first = false;
      std::string title = s.name + " -> " + d.name + " (" + DestinationDisplayName(d.type) +
                          " " + s.object + ")";
      out += options.tty ? std::string(kBold) + title + kReset + "\n" : title + "\n";
      if (!s.moment.empty()) out += "  moment:      " + s.moment + "\n";
      const RunView* last = s.last_run();
      std::string last_text = "never";
      if (last) {
        last_text = last->status;
        if (options.tty) last_text = StatusColour(last->status) + last_text + kReset;
        last_text += " at " + FormatWallTime(last->started_at);
      }
      out += "  last run:    " + last_text + "\n";
      out += "  next run:    " + (s.next_run ? FormatWallTime(*s.next_run) : "not scheduled") + "\n";
      out += "  retry queue: " + FormatCount(s.retry_pending) + " pending, " +
             FormatCount(s.retry_dead) + " dead\n";
      if (d.paused) out += "  paused:      " + d.paused_reason + "\n";
      if (last && (last->status == "blocked" || last->status == "failed") &&
          !last->message.empty())
        out += "  why:         " + last->message + "\n";
      if (!s.recent_runs.empty()) {
        std::vector<std::vector<Cell>> rows = {{{"RUN"}, {"STARTED"}, {"STATUS"},
                                                {"ATTEMPTED", true}, {"SUCCEEDED", true},
                                                {"FAILED", true}, {"REJECTED", true}}};
        const size_t n = std::min<size_t>(s.recent_runs.size(), std::max(0, options.max_runs));
        for (size_t i = 0; i < n; ++i) {
          const RunView& r = s.recent_runs[i];
          rows.push_back({{std::to_string(r.run_id)},
                          {FormatWallTime(r.started_at)},
                          {r.status, false, StatusColour(r.status)},
                          {FormatCount(r.attempted), true},
                          {FormatCount(r.succeeded), true},
                          {FormatCount(r.failed), true},
                          {FormatCount(r.rejected), true}});
        }
        out += "\n" + RenderTable(rows, options.tty, "  ");
      }
      if (!s.top_failures.empty()) {
        out += "\n  top failure reasons:\n";
        std::vector<std::vector<Cell>> rows = {{{"COUNT", true}, {"REASON"}, {"EXAMPLE"}}};
        for (const FailureReasonView& f : s.top_failures)
          rows.push_back({{FormatCount(f.count), true}, {f.reason}, {f.example}});
        out += RenderTable(rows, options.tty, "    ");
      }
    }
  }
  if (first) out = "No syncs are configured.\n";
  return out;
}

std::string FormatStatusJson(const DashboardData& data) { return DashboardJson(data).dump(2) + "\n"; }

}  // namespace backflow
