#include "observability/dashboard.h"

#include <algorithm>
#include <cctype>

namespace backflow {
namespace {

constexpr const char* kCss = R"CSS(
body{font-family:-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;background:#f5f6f8;color:#1f2937}
header{background:#111827;color:#fff;padding:16px 24px}header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;color:#9ca3af;font-size:13px}
main{padding:16px 24px;max-width:1200px}
h2{font-size:17px;margin:24px 0 8px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:16px}
.card{background:#fff;border-radius:8px;padding:16px;border-left:6px solid #9ca3af;box-shadow:0 1px 2px rgba(0,0,0,.08)}
.card h3{margin:0 0 4px;font-size:16px}.sub{color:#6b7280;font-size:12px;margin:0 0 10px}
.headline{font-size:15px;margin:6px 0}.muted{color:#6b7280;font-size:13px}
.badge{display:inline-block;padding:2px 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff}
.s-succeeded{border-color:#16a34a}.b-succeeded{background:#16a34a}
.s-partial{border-color:#d97706}.b-partial{background:#d97706}
.s-failed{border-color:#dc2626}.b-failed{background:#dc2626}
.s-blocked{border-color:#7c3aed}.b-blocked{background:#7c3aed}
.s-running{border-color:#2563eb}.b-running{background:#2563eb}
.s-planned,.s-none{border-color:#9ca3af}.b-planned,.b-none{background:#9ca3af}
.alert{background:#fef2f2;border:1px solid #fecaca;color:#991b1b;padding:8px;border-radius:6px;font-size:13px;margin:8px 0}
.pause{background:#fffbeb;border:1px solid #fde68a;color:#92400e;padding:8px;border-radius:6px;font-size:13px;margin:8px 0}
table{border-collapse:collapse;width:100%;font-size:12px;margin:6px 0}
th,td{text-align:left;padding:3px 6px;border-bottom:1px solid #e5e7eb}td.n,th.n{text-align:right}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px;vertical-align:middle}
)CSS";

std::string CssClass(const std::string& status) {
  static const char* kKnown[] = {"succeeded", "partial", "failed", "blocked", "running", "planned"};
  for (const char* k : kKnown)
    if (status == k) return status;
  return "none";
}

std::string Ago(WallTime now, WallTime t) {
  const long long s = std::chrono::duration_cast<std::chrono::seconds>(now - t).count();
  if (s < 0) {
    const long long in = -s;
    if (in < 60) return "in under a minute";
    if (in < 3600) return "in " + std::to_string(in / 60) + " min";
    if (in < 86400) return "in " + std::to_string(in / 3600) + " h";
    return "in " + std::to_string(in / 86400) + " days";
  }
  if (s < 60) return "just now";
  if (s < 3600) return std::to_string(s / 60) + " min ago";
  if (s < 86400) return std::to_string(s / 3600) + " h ago";
  return std::to_string(s / 86400) + " days ago";
}

std::string When(WallTime now, WallTime t) {
  std::string iso = FormatWallTime(t);  // 2024-05-01T10:00:00Z
  return HtmlEscape(iso.substr(0, 10) + " " + iso.substr(11, 5) + " UTC (" + Ago(now, t) + ")");
}

// Rows attempted (grey) vs delivered (green) per run, oldest on the left.
std::string Chart(const std::vector<RunView>& newest_first) {
  std::vector<const RunView*> runs;
  for (auto it = newest_first.rbegin(); it != newest_first.rend(); ++it) runs.push_back(&*it);
  if (runs.empty()) return "";
  long long max = 1;
  for (const RunView* r : runs) max = std::max({max, r->attempted, r->succeeded});
  const int kWidth = 360, kHeight = 80, kSlot = std::max(8, kWidth / static_cast<int>(runs.size()));
  const int bar = std::max(2, (kSlot - 4) / 2);
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
                    std::to_string(kSlot * runs.size()) + "\" height=\"" +
                    std::to_string(kHeight) + "\" role=\"img\" aria-label=\"Rows attempted and " +
                    "delivered per recent run\">";
  for (size_t i = 0; i < runs.size(); ++i) {
    const RunView& r = *runs[i];
    const int ha = static_cast<int>(r.attempted * (kHeight - 2) / max);
    const int hs = static_cast<int>(r.succeeded * (kHeight - 2) / max);
    const int x = static_cast<int>(i) * kSlot;
    const std::string title = "<title>" + HtmlEscape(FormatWallTime(r.started_at)) + ": " +
                              FormatCount(r.attempted) + " attempted, " +
                              FormatCount(r.succeeded) + " delivered</title>";
    svg += "<rect x=\"" + std::to_string(x) + "\" y=\"" + std::to_string(kHeight - ha) +
           "\" width=\"" + std::to_string(bar) + "\" height=\"" + std::to_string(ha) +
           "\" fill=\"#cbd5e1\">" + title + "</rect>";
    svg += "<rect x=\"" + std::to_string(x + bar) + "\" y=\"" + std::to_string(kHeight - hs) +
           "\" width=\"" + std::to_string(bar) + "\" height=\"" + std::to_string(hs) +
           "\" fill=\"#16a34a\">" + title + "</rect>";
  }
  svg += "</svg>";
  return "<div class=\"chart\">" + svg +
         "<div class=\"legend muted\"><span style=\"background:#cbd5e1\"></span>attempted"
         "<span style=\"background:#16a34a\"></span>delivered</div></div>";
}

std::string Headline(const SyncView& s, const DestinationView& d) {
  const RunView* last = s.last_run();
  const std::string what = ObjectDisplayName(s.object) + " sent to " + DestinationDisplayName(d.type);
  if (!last) return HtmlEscape(what) + ": no runs yet.";
  if (last->status == "blocked") return "Blocked: nothing was sent in the last run.";
  if (last->status == "running") return HtmlEscape(what) + ": a run is in progress.";
  if (last->attempted == 0 && last->status == "succeeded")
    return HtmlEscape(what) + ": up to date, nothing changed in the last run.";
  return HtmlEscape(what) + ": <strong>" + FormatCount(last->succeeded) + " of " +
         FormatCount(last->attempted) + "</strong> delivered.";
}

std::string SyncCard(const SyncView& s, const DestinationView& d, WallTime now) {
  const RunView* last = s.last_run();
  const std::string status = last ? last->status : "";
  std::string h = "<section class=\"card s-" + CssClass(status) + "\">";
  h += "<h3>" + HtmlEscape(s.moment.empty() ? s.name : s.moment) + "</h3>";
  h += "<p class=\"sub\">Sync " + HtmlEscape(s.name) + " &rarr; " + HtmlEscape(d.name) + " (" +
       HtmlEscape(DestinationDisplayName(d.type)) + " " + HtmlEscape(s.object) + ")</p>";
  h += "<p class=\"headline\">" + Headline(s, d) + "</p>";
  if (last) {
    h += "<p class=\"muted\"><span class=\"badge b-" + CssClass(status) + "\">" +
         HtmlEscape(StatusDisplayText(status)) + "</span> Last run " +
         When(now, last->started_at) + ". Records changed: " + FormatCount(last->changed) +
         ". Failed: " + FormatCount(last->failed) + ". Rejected by the contract: " +
         FormatCount(last->rejected) + ".</p>";
    if ((status == "blocked" || status == "failed") && !last->message.empty())
      h += "<div class=\"alert\">" + HtmlEscape(last->message) + "</div>";
  }
  if (s.next_run) h += "<p class=\"muted\">Next run " + When(now, *s.next_run) + ".</p>";
  if (s.retry_pending > 0 || s.retry_dead > 0)
    h += "<p class=\"muted\">Retry queue: " + FormatCount(s.retry_pending) +
         (s.retry_pending == 1 ? " record" : " records") + " waiting to be retried, " +
         FormatCount(s.retry_dead) + " given up (a person needs to look).</p>";
  h += Chart(s.recent_runs);
  if (!s.top_failures.empty()) {
    h += "<table><tr><th>Why records failed</th><th class=\"n\">Records</th><th>Example</th></tr>";
    for (const FailureReasonView& f : s.top_failures)
      h += "<tr><td>" + HtmlEscape(f.reason) +
           (f.detail.empty() ? "" : "<div class=\"muted\">" + HtmlEscape(f.detail) + "</div>") +
           "</td><td class=\"n\">" + FormatCount(f.count) +
           "</td><td>" + HtmlEscape(f.example) + "</td></tr>";
    h += "</table>";
  }
  if (!s.recent_runs.empty()) {
    h += "<table><tr><th>Run started</th><th>Status</th><th class=\"n\">Changed</th>"
         "<th class=\"n\">Sent</th><th class=\"n\">Delivered</th><th class=\"n\">Failed</th>"
         "<th class=\"n\">Rejected</th></tr>";
    for (const RunView& r : s.recent_runs) {
      h += "<tr><td>" + When(now, r.started_at) + "</td><td>" +
           HtmlEscape(StatusDisplayText(r.status)) + "</td><td class=\"n\">" +
           FormatCount(r.changed) + "</td><td class=\"n\">" + FormatCount(r.attempted) +
           "</td><td class=\"n\">" + FormatCount(r.succeeded) + "</td><td class=\"n\">" +
           FormatCount(r.failed) + "</td><td class=\"n\">" + FormatCount(r.rejected) +
           "</td></tr>";
      if (r.status == "blocked" && !r.message.empty())
        h += "<tr><td colspan=\"7\" class=\"muted\">Blocked: " + HtmlEscape(r.message) +
             "</td></tr>";
    }
    h += "</table>";
  }
  return h + "</section>";
}

}  // namespace

std::string HtmlEscape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string DestinationDisplayName(const std::string& type) {
  if (type == "salesforce") return "Salesforce";
  if (type == "hubspot") return "HubSpot";
  if (type == "braze") return "Braze";
  return type;
}

std::string ObjectDisplayName(const std::string& object) {
  std::string o = object;
  if (o.size() > 3 && o.compare(o.size() - 3, 3, "__c") == 0) o.resize(o.size() - 3);
  std::replace(o.begin(), o.end(), '_', ' ');
  if (o.empty()) return "Records";
  o[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(o[0])));
  if (o.back() != 's') o += 's';
  return o;
}

std::string StatusDisplayText(const std::string& status) {
  if (status == "succeeded") return "All delivered";
  if (status == "partial") return "Some records failed";
  if (status == "failed") return "Run failed";
  if (status == "blocked") return "Blocked, nothing sent";
  if (status == "running") return "Running now";
  if (status == "planned") return "Dry run";
  if (status.empty()) return "Not run yet";
  return status;
}

std::string RenderDashboard(const DashboardData& data) {
  std::string h = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                  "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                  "<title>backflow: warehouse to GTM tools</title><style>";
  h += kCss;
  h += "</style></head><body><header><h1>What the warehouse is sending to your GTM tools</h1>"
       "<p>Updated " + HtmlEscape(FormatWallTime(data.generated_at)) + "</p></header><main>";
  if (data.destinations.empty()) h += "<p class=\"muted\">No syncs are configured.</p>";
  for (const DestinationView& d : data.destinations) {
    h += "<h2>" + HtmlEscape(DestinationDisplayName(d.type)) + " (" + HtmlEscape(d.name) + ")</h2>";
    if (d.paused)
      h += "<div class=\"pause\">Sending to " + HtmlEscape(DestinationDisplayName(d.type)) +
           " is paused: " + HtmlEscape(d.paused_reason) + "</div>";
    h += "<div class=\"cards\">";
    for (const SyncView& s : d.syncs) h += SyncCard(s, d, data.generated_at);
    if (d.syncs.empty()) h += "<p class=\"muted\">No syncs send here.</p>";
    h += "</div>";
  }
  return h + "</main></body></html>\n";
}

}  // namespace backflow
