#include "state/sync_lock.h"

namespace backflow {

Result<std::unique_ptr<SyncLease>> SyncLease::TryAcquire(const Secret& dsn,
                                                         const std::string& state_schema,
                                                         const std::string& sync_name) {
  Result<std::unique_ptr<PgConnection>> conn = PgConnection::Open(dsn);
  if (!conn.ok()) return conn.status();
  return TryAcquireOn(std::move(conn).value(), state_schema, sync_name);
}

Result<std::unique_ptr<SyncLease>> SyncLease::TryAcquireOn(std::unique_ptr<PgConnection> conn,
                                                           const std::string& state_schema,
                                                           const std::string& sync_name) {
  long long key = 0;
  bool got = false;
  Status st = conn->NonTransaction("take the sync lease", [&](pqxx::nontransaction& tx) {
    pqxx::row r = tx.exec_params1(
        "WITH k AS (SELECT hashtextextended($1, 0) AS key) "
        "SELECT key, pg_try_advisory_lock(key) FROM k",
        "backflow-sync:" + state_schema + ":" + sync_name);
    key = r[0].as<long long>();
    got = r[1].as<bool>();
  });
  if (!st.ok()) return st;
  if (!got) return std::unique_ptr<SyncLease>();
  return std::unique_ptr<SyncLease>(new SyncLease(std::move(conn), sync_name, key));
}

SyncLease::~SyncLease() {
  if (!conn_ || !conn_->is_open()) return;
  Status st = conn_->NonTransaction("release the sync lease", [&](pqxx::nontransaction& tx) {
    tx.exec_params("SELECT pg_advisory_unlock($1)", key_);
  });
  (void)st;  // the connection closes next, which releases the lock anyway
}

Status SyncLease::Check() {
  bool held = false;
  Status st = conn_->NonTransaction("check the sync lease", [&](pqxx::nontransaction& tx) {
    // A bigint advisory key shows in pg_locks as classid (high half) and objid (low half).
    held = tx.exec_params1(
                 "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
                 "AND pid = pg_backend_pid() AND objsubid = 1 AND granted "
                 "AND ((classid::bigint << 32) | objid::bigint) = $1)",
                 key_)[0]
               .as<bool>();
  });
  if (!st.ok()) return Status::Unavailable("lost the lease of sync " + sync_name_ + ": " +
                                           st.message());
  if (!held) return Status::Unavailable("lost the lease of sync " + sync_name_);
  return Status::Ok();
}

}  // namespace backflow
