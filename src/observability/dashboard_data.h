// What the dashboard (GET /), GET /api/runs and `backflow status` show: plain structs,
// filled from the state schema by LoadDashboardData or by hand in tests.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backflow/clock.h"
#include "backflow/config.h"
#include "backflow/status.h"
#include "source/postgres.h"

namespace backflow {

struct RunView {
  long long run_id = 0;
  std::string kind = "sync";            // sync | plan | retry
  std::string status;                   // running|succeeded|partial|failed|blocked|planned
  WallTime started_at;
  std::optional<WallTime> finished_at;
  long long read = 0, changed = 0, attempted = 0, succeeded = 0, failed = 0, rejected = 0;
  long long api_requests = 0;
  std::string message;                  // why it failed or was blocked
  bool forced = false;
};

struct FailureReasonView {
  std::string reason;
  long long count = 0;
  std::string example;                  // a warehouse_id, or empty
  std::string detail = {};              // the destination's own words for the example, or empty
};

struct SyncView {
  std::string name;
  std::string moment;                   // the operational moment: the card's headline
  std::string object;                   // Lead | contacts | users
  std::string destination;              // the destination's config name
  std::optional<WallTime> next_run;
  std::vector<RunView> recent_runs;     // newest first; recent_runs[0] is the last run
  std::vector<FailureReasonView> top_failures;  // most frequent first
  long long retry_pending = 0;
  long long retry_dead = 0;

  const RunView* last_run() const { return recent_runs.empty() ? nullptr : &recent_runs[0]; }
};

struct DestinationView {
  std::string name;                     // config name (sfdc)
  std::string type;                     // salesforce | hubspot | braze
  bool paused = false;
  std::string paused_reason;
  std::vector<SyncView> syncs;
};

struct DashboardData {
  WallTime generated_at;
  std::vector<DestinationView> destinations;  // in config order (by name)
};

struct DashboardLoadOptions {
  int recent_runs = 10;                 // per sync
  int top_failures = 5;                 // per sync
  // When the scheduler will next run a sync (unset: not shown).
  std::function<std::optional<WallTime>(const SyncConfig&)> next_run;
  // Destinations the daemon has paused, with the reason.
  std::map<std::string, std::string> paused;
  bool include_plans = false;           // plan runs in recent_runs
};

// Reads runs, failure reasons and retry-queue depth for every sync of `config` from the
// state schema through StateReader (read-only; REQUIRES: Migrate() has run). Failure
// reasons are summed over the sync's recent runs; examples come from the retry queue and
// rejected_rows. Uses `conn` from the calling thread only.
Result<DashboardData> LoadDashboardData(PgConnection& conn, const std::string& state_schema,
                                        const Config& config, WallTime now,
                                        const DashboardLoadOptions& options = {});

// ISO 8601 UTC, second precision: "2024-05-01T10:00:00Z".
std::string FormatWallTime(WallTime t);
// "4,980"
std::string FormatCount(long long n);
// The JSON served at GET /api/runs and printed by `backflow status --json`.
nlohmann::json DashboardJson(const DashboardData& data);

}  // namespace backflow
