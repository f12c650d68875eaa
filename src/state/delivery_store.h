// Delivery state, committed for confirmed records (a group of batches at a time) and
// never before the send.
//
// CommitBatch writes, in ONE transaction, for every record of a batch whose outcome is
// known: row_state (hash + values, delivered rows only), id_mappings (destination_id,
// sync_status, last_synced_at), change_log (delivered rows; PII values as salted hashes),
// and retry_queue (delivered rows leave it; failed rows enter it or have attempts bumped,
// next_attempt_at set by backoff, and become `dead` after retry.max_attempts or on a
// permanent error past max_attempts). The records are staged once by COPY and every
// statement is set-based (one per table per commit), never one round trip per row.
// Not thread-safe: one thread commits at a time (HashPii may be called from any thread).
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "backflow/clock.h"
#include "backflow/config.h"
#include "backflow/record.h"
#include "backflow/status.h"
#include "source/postgres.h"

namespace backflow {

struct BatchCommit {
  long long run_id = 0;
  const SyncConfig* sync = nullptr;
  const DestinationConfig* destination = nullptr;
  const std::vector<std::string>* fields = nullptr;     // destination fields, value order
  const std::vector<Record>* records = nullptr;
  const std::vector<RecordOutcome>* outcomes = nullptr; // parallel to records
  WallTime now;
  // plan: only change_log rows with planned = true, for the kDelivered outcomes (or every
  // record when outcomes is null); nothing else is touched.
  bool dry_run = false;
};

// operation: 'create' when the destination said so (RecordOutcome::created) or the record
// was never delivered before; otherwise 'update'. A warehouse_id that occurs twice in a
// batch counts once (its last occurrence).
struct CommitTotals {
  long long delivered = 0, failed = 0, dead = 0, skipped = 0, created = 0, updated = 0;
  // Delivered records whose destination_id another mapping held (merged or re-keyed in
  // the destination): the stale mapping lost the id; the batch still commits.
  long long remapped = 0;
};

class DeliveryStore {
 public:
  // REQUIRES: Migrate() has run. Loads the salt once.
  static Result<std::unique_ptr<DeliveryStore>> Open(PgConnection* conn,
                                                     std::string state_schema);

  [[nodiscard]] Result<CommitTotals> CommitBatch(const BatchCommit& batch);

  // on_delete: delete — marks the mappings of deleted records (sync_status 'deleted'),
  // forgets their row_state and retry_queue rows and writes 'delete' change_log rows, in
  // one transaction.
  [[nodiscard]] Status CommitDeletes(const SyncConfig& sync, const DestinationConfig& dest,
                                     long long run_id,
                                     const std::vector<std::string>& warehouse_ids, WallTime now);

  // updated_at strategy: the cursor to read from next time.
  [[nodiscard]] Status SaveCursor(const std::string& sync_name, const std::string& cursor);

  // ANALYZE row_state and id_mappings (after a large run, for the next delta's plan),
  // skipping a table autovacuum is processing (it analyzes it too).
  [[nodiscard]] Status Analyze();

  // Salted SHA-256 of a PII value, as stored in change_log/row_state ("sha256:<hex>").
  std::string HashPii(const std::string& value) const;

  // Retry-queue depth per status for a sync.
  Result<long long> RetryQueueDepth(const std::string& sync_name, const std::string& status);

 private:
  DeliveryStore(PgConnection* conn, std::string schema, std::string salt)
      : conn_(conn), schema_(std::move(schema)), salt_(std::move(salt)) {}
  PgConnection* conn_;
  std::string schema_;
  std::string salt_;
  bool staging_created_ = false;  // the session's pg_temp.bf_commit exists
};

}  // namespace backflow
