// SyncRunner: one run of one sync, the pipeline end to end —
//   source (delta in Postgres) -> planner (guards, contract, sample) -> mapping (ids) ->
//   destination (via its channel: rate limit, concurrency, retry) -> state (grouped
//   commits of confirmed batches, BatchPipeline).
//
// `sync`, `plan` and `retry` all go through Run(); plan differs only at the point of
// sending: it sends nothing, changes no delivery state and writes planned change_log rows.
// Delivery state is committed only for confirmed rows, so a crash or SIGTERM at any point
// loses nothing: uncommitted rows are still "changed" for the next run, which sends them
// again as the same idempotent upserts.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "app/plan_report.h"
#include "app/runtime.h"
#include "backflow/status.h"
#include "state/run_store.h"

namespace backflow {

// Exit codes (spec section 1).
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr int kExitPartial = 3;
constexpr int kExitBlocked = 4;

struct RunOptions {
  std::string kind = "sync";      // sync | plan | retry
  bool full = false;              // --full: ignore stored hashes
  std::optional<double> sample;   // --sample (overrides the sync's standing `sample:`)
  bool force = false;             // --force: send what a guard would block (logged)
  PlanWriter* plan = nullptr;     // kind == plan: where the per-record report goes
  // Called after each committed batch with (rows done, rows to do): the CLI's bar.
  std::function<void(long long, long long)> progress;
};

struct RunReport {
  RunRecord run;
  Status status;                  // why the run failed or was blocked
  int exit_code = kExitOk;
  bool lease_held_elsewhere = false;  // another daemon is running this sync right now
};

class SyncRunner {
 public:
  explicit SyncRunner(Runtime* runtime) : rt_(runtime) {}
  // Never throws. REQUIRES: the sync exists in the runtime's config.
  RunReport Run(const std::string& sync_name, const RunOptions& options);

 private:
  Runtime* rt_;
};

// The run status and exit code a finished run's counts imply.
std::string RunStatusFor(const RunCounts& counts, bool planned);
int ExitCodeFor(const RunReport& report);

}  // namespace backflow
