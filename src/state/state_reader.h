// StateReader: the read side of the state schema, for `status`, the dashboard and
// /metrics. Plain structs, no values of records (change entries carry field names only),
// so nothing here can leak PII. Every method is one query.
//
// Plans (kind 'plan') count in RecentRuns but not in SyncTotals or TopFailureReasons. Not thread-safe (one
// PgConnection); give the HTTP server its own reader.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "backflow/clock.h"
#include "backflow/status.h"
#include "source/postgres.h"
#include "state/retry_queue.h"
#include "state/run_store.h"

namespace backflow {

struct SyncTotals {
  std::string sync_name;
  std::string destination;          // of the newest run
  long long runs = 0, succeeded_runs = 0, partial_runs = 0, failed_runs = 0, blocked_runs = 0;
  long long rows_attempted = 0, rows_succeeded = 0, rows_failed = 0, rows_rejected = 0;
  std::optional<WallTime> last_run_at;
  std::string last_status;
};

struct ChangeEntry {
  long long id = 0;
  long long run_id = 0;
  std::string sync_name;
  std::string destination;
  std::string warehouse_id;
  std::string destination_id;       // empty when unknown
  std::string operation;            // create | update | delete
  std::vector<std::string> changed_fields;
  WallTime sent_at;
  bool planned = false;
};

struct FailureReason {
  std::string sync_name;
  std::string reason;
  long long count = 0;
  WallTime last_seen;
};

class StateReader {
 public:
  StateReader(PgConnection* conn, std::string state_schema)
      : conn_(conn), schema_(std::move(state_schema)), retry_(conn, schema_) {}

  // The newest `per_sync` runs of each sync (or of `sync_name` only), newest first within
  // a sync, syncs by name.
  Result<std::vector<RunRecord>> RecentRuns(const std::string& sync_name, int per_sync);
  // All-time totals per sync over its non-plan runs, by sync name.
  Result<std::vector<SyncTotals>> Totals();
  Result<std::map<std::string, RetryDepth>> RetryDepths(WallTime now) {
    return retry_.Depths(now);
  }
  Result<std::vector<RetryEntry>> DeadLetters(const std::string& sync_name, int limit) {
    return retry_.ListDead(sync_name, limit);
  }
  // Newest change_log entries, all syncs when sync_name is empty.
  Result<std::vector<ChangeEntry>> RecentChanges(const std::string& sync_name, int limit);
  // Failure reasons summed over the error_summary of each sync's newest `recent_runs`
  // non-plan runs, the most frequent first; all syncs when sync_name is empty.
  Result<std::vector<FailureReason>> TopFailureReasons(const std::string& sync_name,
                                                       int recent_runs, int limit);
  // The newest blocked runs (their message says why), all syncs when sync_name is empty.
  Result<std::vector<RunRecord>> BlockedRuns(const std::string& sync_name, int limit);

 private:
  PgConnection* conn_;
  std::string schema_;
  RetryQueue retry_;
};

}  // namespace backflow
