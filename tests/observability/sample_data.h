// A DashboardData with one Salesforce sync (partial last run) and one Braze sync (blocked),
// shared by the dashboard, status and HTTP tests.
#pragma once

#include "observability/dashboard_data.h"

namespace backflow::testing {

inline WallTime At(long long unix_seconds) {
  return WallTime(std::chrono::seconds(unix_seconds));
}

inline DashboardData SampleDashboard() {
  DashboardData d;
  d.generated_at = At(1714557900);  // 2024-05-01T10:05:00Z
  DestinationView sfdc;
  sfdc.name = "sfdc";
  sfdc.type = "salesforce";
  SyncView leads;
  leads.name = "lead_scores";
  leads.moment = "Route high-intent leads to the enterprise queue";
  leads.object = "Lead";
  leads.destination = "sfdc";
  leads.next_run = At(1714558500);
  RunView r1;
  r1.run_id = 42;
  r1.status = "partial";
  r1.started_at = At(1714557600);
  r1.finished_at = At(1714557660);
  r1.read = 5200;
  r1.changed = 5000;
  r1.attempted = 5000;
  r1.succeeded = 4980;
  r1.failed = 20;
  r1.rejected = 3;
  RunView r0;
  r0.run_id = 41;
  r0.status = "succeeded";
  r0.started_at = At(1714556700);
  r0.changed = 120;
  r0.attempted = 120;
  r0.succeeded = 120;
  leads.recent_runs = {r1, r0};
  leads.top_failures = {{"INVALID_EMAIL_ADDRESS", 15, "u_17"}, {"REQUIRED_FIELD_MISSING", 5, ""}};
  leads.retry_pending = 18;
  leads.retry_dead = 2;
  sfdc.syncs.push_back(leads);

  DestinationView braze;
  braze.name = "braze";
  braze.type = "braze";
  braze.paused = true;
  braze.paused_reason = "rate limit: 3,000 requests per 3s";
  SyncView churn;
  churn.name = "churn_risk";
  churn.moment = "Alert CSMs about churn risk";
  churn.object = "users";
  churn.destination = "braze";
  RunView b;
  b.run_id = 7;
  b.status = "blocked";
  b.started_at = At(1714557000);
  b.read = 1000;
  b.rejected = 900;
  b.message = "900 of 1,000 rows broke the contract; max_invalid is 1%.";
  churn.recent_runs = {b};
  braze.syncs.push_back(churn);

  d.destinations = {braze, sfdc};
  return d;
}

}  // namespace backflow::testing
