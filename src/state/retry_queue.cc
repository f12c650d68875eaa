#include "state/retry_queue.h"

#include "state/sql_util.h"

namespace backflow {
namespace {

// Columns: sync_name, pending, dead, due, next_due (micros or NULL).
std::string DepthSql(const std::string& schema, bool one_sync) {
  return "SELECT sync_name, count(*) FILTER (WHERE status = 'pending'), "
         "count(*) FILTER (WHERE status = 'dead'), "
         "count(*) FILTER (WHERE status = 'pending' AND next_attempt_at <= $1::timestamptz), " +
         sql::EpochMicros("min(next_attempt_at) FILTER (WHERE status = 'pending')") + " FROM " +
         QuoteIdent(schema) + ".retry_queue" + (one_sync ? " WHERE sync_name = $2" : "") +
         " GROUP BY sync_name";
}

RetryDepth DepthFromRow(const pqxx::row& row) {
  RetryDepth d;
  d.pending = row[1].as<long long>();
  d.dead = row[2].as<long long>();
  d.due = row[3].as<long long>();
  if (!row[4].is_null()) d.next_due = sql::FromMicros(row[4].as<long long>());
  return d;
}

}  // namespace

Result<RetryDepth> RetryQueue::Depth(const std::string& sync_name, WallTime now) {
  RetryDepth depth;
  Status st = conn_->NonTransaction("read the retry-queue depth", [&](pqxx::nontransaction& tx) {
    pqxx::result r = tx.exec_params(DepthSql(schema_, true), sql::Timestamp(now), sync_name);
    if (!r.empty()) depth = DepthFromRow(r[0]);
  });
  if (!st.ok()) return st;
  return depth;
}

Result<std::map<std::string, RetryDepth>> RetryQueue::Depths(WallTime now) {
  std::map<std::string, RetryDepth> depths;
  Status st = conn_->NonTransaction("read retry-queue depths", [&](pqxx::nontransaction& tx) {
    for (const auto& row : tx.exec_params(DepthSql(schema_, false), sql::Timestamp(now)))
      depths[row[0].c_str()] = DepthFromRow(row);
  });
  if (!st.ok()) return st;
  return depths;
}

Result<std::vector<RetryEntry>> RetryQueue::ListDead(const std::string& sync_name, int limit) {
  std::vector<RetryEntry> out;
  Status st = conn_->NonTransaction("list dead letters", [&](pqxx::nontransaction& tx) {
    pqxx::result r = tx.exec_params(
        "SELECT sync_name, warehouse_id, destination, attempts, status, "
        "coalesce(error_category, ''), coalesce(last_error, ''), payload::text, " +
            sql::EpochMicros("first_failed_at") + ", " + sql::EpochMicros("next_attempt_at") +
            ", " + sql::EpochMicros("updated_at") + " FROM " + QuoteIdent(schema_) +
            ".retry_queue WHERE sync_name = $1 AND status = 'dead' "
            "ORDER BY updated_at DESC, warehouse_id LIMIT $2",
        sync_name, limit);
    for (const auto& row : r) {
      RetryEntry e;
      e.sync_name = row[0].c_str();
      e.warehouse_id = row[1].c_str();
      e.destination = row[2].c_str();
      e.attempts = row[3].as<int>();
      e.status = row[4].c_str();
      e.error_category = row[5].c_str();
      e.last_error = row[6].c_str();
      e.payload = row[7].c_str();
      e.first_failed_at = sql::FromMicros(row[8].as<long long>());
      e.next_attempt_at = sql::FromMicros(row[9].as<long long>());
      e.updated_at = sql::FromMicros(row[10].as<long long>());
      out.push_back(std::move(e));
    }
  });
  if (!st.ok()) return st;
  return out;
}

Result<std::vector<ErrorGroup>> RetryQueue::TopErrors(const std::string& sync_name, int limit) {
  std::vector<ErrorGroup> out;
  Status st = conn_->NonTransaction("group retry-queue errors", [&](pqxx::nontransaction& tx) {
    pqxx::result r = tx.exec_params(
        "SELECT coalesce(error_category, ''), coalesce(max(last_error), ''), count(*) FROM " +
            QuoteIdent(schema_) + ".retry_queue WHERE sync_name = $1 "
            "GROUP BY 1 ORDER BY 3 DESC, 1 LIMIT $2",
        sync_name, limit);
    for (const auto& row : r)
      out.push_back({row[0].c_str(), row[1].c_str(), row[2].as<long long>()});
  });
  if (!st.ok()) return st;
  return out;
}

Result<long long> RetryQueue::PurgeDead(const std::string& sync_name) {
  long long n = 0;
  Status st = conn_->InTransaction("purge dead letters", [&](pqxx::work& tx) {
    n = static_cast<long long>(
        tx.exec_params("DELETE FROM " + QuoteIdent(schema_) +
                           ".retry_queue WHERE sync_name = $1 AND status = 'dead'",
                       sync_name)
            .affected_rows());
  });
  if (!st.ok()) return st;
  return n;
}

Result<long long> RetryQueue::RequeueDead(const std::string& sync_name, WallTime now) {
  long long n = 0;
  Status st = conn_->InTransaction("requeue dead letters", [&](pqxx::work& tx) {
    n = static_cast<long long>(
        tx.exec_params("UPDATE " + QuoteIdent(schema_) +
                           ".retry_queue SET status = 'pending', attempts = 0, "
                           "next_attempt_at = $2::timestamptz, updated_at = $2::timestamptz "
                           "WHERE sync_name = $1 AND status = 'dead'",
                       sync_name, sql::Timestamp(now))
            .affected_rows());
  });
  if (!st.ok()) return st;
  return n;
}

}  // namespace backflow
