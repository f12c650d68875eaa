// sync_runs: one row per run, written at its start and completed at its end.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "backflow/clock.h"
#include "backflow/status.h"
#include "source/postgres.h"

namespace backflow {

struct RunCounts {
  long long rows_read = 0;
  long long rows_changed = 0;
  long long rows_attempted = 0;
  long long rows_succeeded = 0;
  long long rows_failed = 0;
  long long rows_rejected = 0;   // failed the contract
  long long rows_skipped = 0;    // mode: update and no such record
  long long rows_deleted = 0;
  long long api_requests = 0;
};

struct RunRecord {
  long long run_id = 0;
  std::string sync_name;
  std::string destination;
  std::string kind = "sync";     // sync | plan | retry
  WallTime started_at;
  std::optional<WallTime> finished_at;
  std::string status = "running";  // running|succeeded|partial|failed|blocked|planned
  RunCounts counts;
  std::map<std::string, long long> error_summary;  // failure reason -> count
  std::string message;           // why it failed or was blocked
  bool forced = false;
};

class RunStore {
 public:
  RunStore(PgConnection* conn, std::string state_schema)
      : conn_(conn), schema_(std::move(state_schema)) {}

  // Inserts a `running` row (host = gethostname()); fills run->run_id, and
  // run->started_at when it was unset (the database's now()).
  [[nodiscard]] Status Start(RunRecord* run);
  // Writes the final status, counts, error_summary, message and forced; finished_at is
  // the database's now() when unset. NotFound when no such run.
  [[nodiscard]] Status Finish(const RunRecord& run);
  // Closes runs left `running` by a crash as `failed` (message says so). Returns how many.
  // An empty sync_name closes every sync's. REQUIRES: the caller holds the sync's
  // SyncLease (sync_lock.h), so a run another daemon is still doing is not closed.
  Result<long long> CloseAbandoned(const std::string& sync_name);
  // The newest runs, newest first; all syncs when sync_name is empty.
  Result<std::vector<RunRecord>> Recent(const std::string& sync_name, int limit);

 private:
  PgConnection* conn_;
  std::string schema_;
};

}  // namespace backflow
