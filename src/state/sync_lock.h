// SyncLease: at most one daemon runs a given sync against one state schema.
//
// A lease is a session-level Postgres advisory lock on
// hashtextextended('backflow-sync:<schema>:<sync>', 0), held on a connection of its own.
// It lasts as long as that connection: the destructor releases it, and if the process
// dies (or the connection drops) the server releases it, which is how another daemon
// takes over a dead daemon's syncs. Postgres is the only coordinator; no heartbeat table.
//
// Not thread-safe; one lease per sync per process.
#pragma once

#include <memory>
#include <string>

#include "backflow/secret.h"
#include "backflow/status.h"
#include "source/postgres.h"

namespace backflow {

class SyncLease {
 public:
  // Connects and tries the lock once, without waiting. Returns a null pointer (in an OK
  // Result) when another session holds it; kUnavailable when Postgres cannot be reached.
  static Result<std::unique_ptr<SyncLease>> TryAcquire(const Secret& dsn,
                                                       const std::string& state_schema,
                                                       const std::string& sync_name);
  // Same, on a connection the lease takes over (tests; a caller with its own pool).
  static Result<std::unique_ptr<SyncLease>> TryAcquireOn(std::unique_ptr<PgConnection> conn,
                                                         const std::string& state_schema,
                                                         const std::string& sync_name);

  ~SyncLease();  // unlocks; errors are ignored (closing the connection unlocks too)
  SyncLease(const SyncLease&) = delete;
  SyncLease& operator=(const SyncLease&) = delete;

  // OK while this session still holds the lock; kUnavailable once its connection is gone
  // (the lease is lost: stop the sync's run before committing anything more).
  [[nodiscard]] Status Check();

  const std::string& sync_name() const { return sync_name_; }
  long long key() const { return key_; }

 private:
  SyncLease(std::unique_ptr<PgConnection> conn, std::string sync_name, long long key)
      : conn_(std::move(conn)), sync_name_(std::move(sync_name)), key_(key) {}
  std::unique_ptr<PgConnection> conn_;
  std::string sync_name_;
  long long key_;
};

}  // namespace backflow
