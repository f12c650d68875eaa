// The retry queue seen as a whole: depths, dead letters, and what an operator does with
// them. DeliveryStore::CommitBatch is the only writer of new entries; this class reads
// them and purges or requeues dead ones (`retry NAME --dead`).
//
// Not thread-safe (one PgConnection, one thread at a time).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "backflow/clock.h"
#include "backflow/status.h"
#include "source/postgres.h"

namespace backflow {

struct RetryDepth {
  long long pending = 0;
  long long dead = 0;
  long long due = 0;                    // pending with next_attempt_at <= now
  std::optional<WallTime> next_due;     // the earliest pending next_attempt_at
};

struct RetryEntry {
  std::string sync_name;
  std::string warehouse_id;
  std::string destination;
  int attempts = 0;
  std::string status;                   // pending | dead
  std::string error_category;
  std::string last_error;
  std::string payload;                  // JSON text; PII fields hold salted hashes
  WallTime first_failed_at;
  WallTime next_attempt_at;
  WallTime updated_at;
};

struct ErrorGroup {
  std::string error_category;
  std::string example;                  // one last_error of the group
  long long count = 0;
};

class RetryQueue {
 public:
  RetryQueue(PgConnection* conn, std::string state_schema)
      : conn_(conn), schema_(std::move(state_schema)) {}

  // Depth of one sync's queue at `now`.
  Result<RetryDepth> Depth(const std::string& sync_name, WallTime now);
  // Depth of every sync that has entries, by sync name.
  Result<std::map<std::string, RetryDepth>> Depths(WallTime now);
  // Dead entries, the most recently failed first.
  Result<std::vector<RetryEntry>> ListDead(const std::string& sync_name, int limit);
  // Entries (pending and dead) grouped by error_category, the largest group first.
  Result<std::vector<ErrorGroup>> TopErrors(const std::string& sync_name, int limit);
  // Deletes the dead entries of a sync; returns how many. Their row_state still holds
  // the last delivered version, so the next run sees them as changed and sends them
  // again with fresh attempts (use it after fixing the cause).
  Result<long long> PurgeDead(const std::string& sync_name);
  // Makes the dead entries of a sync pending and due at `now`, with attempts reset to 0,
  // so they get retry.max_attempts more attempts; returns how many.
  Result<long long> RequeueDead(const std::string& sync_name, WallTime now);

 private:
  PgConnection* conn_;
  std::string schema_;
};

}  // namespace backflow
