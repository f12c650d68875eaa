#include "state/state_reader.h"

#include "state/sql_util.h"

namespace backflow {

Result<std::vector<RunRecord>> StateReader::RecentRuns(const std::string& sync_name,
                                                       int per_sync) {
  std::vector<RunRecord> runs;
  Status st = conn_->NonTransaction("read recent runs", [&](pqxx::nontransaction& tx) {
    pqxx::result r = tx.exec_params(
        "SELECT " + sql::RunColumns("r") + " FROM (SELECT *, row_number() OVER ("
            "PARTITION BY sync_name ORDER BY started_at DESC, run_id DESC) AS n FROM " +
            QuoteIdent(schema_) + ".sync_runs WHERE ($1 = '' OR sync_name = $1)) r "
            "WHERE r.n <= $2 ORDER BY r.sync_name, r.started_at DESC, r.run_id DESC",
        sync_name, per_sync);
    for (const auto& row : r) runs.push_back(sql::RunFromRow(row));
  });
  if (!st.ok()) return st;
  return runs;
}

Result<std::vector<SyncTotals>> StateReader::Totals() {
  std::vector<SyncTotals> out;
  Status st = conn_->NonTransaction("read sync totals", [&](pqxx::nontransaction& tx) {
    pqxx::result r = tx.exec(
        "SELECT sync_name, "
        "(array_agg(destination ORDER BY started_at DESC, run_id DESC))[1], count(*), "
        "count(*) FILTER (WHERE status = 'succeeded'), count(*) FILTER (WHERE status = 'partial'), "
        "count(*) FILTER (WHERE status = 'failed'), count(*) FILTER (WHERE status = 'blocked'), "
        "sum(rows_attempted)::bigint, sum(rows_succeeded)::bigint, sum(rows_failed)::bigint, "
        "sum(rows_rejected)::bigint, " + sql::EpochMicros("max(started_at)") + ", "
        "(array_agg(status ORDER BY started_at DESC, run_id DESC))[1] FROM " +
        QuoteIdent(schema_) + ".sync_runs WHERE kind <> 'plan' GROUP BY sync_name ORDER BY 1");
    for (const auto& row : r) {
      SyncTotals t;
      t.sync_name = row[0].c_str();
      t.destination = row[1].c_str();
      t.runs = row[2].as<long long>();
      t.succeeded_runs = row[3].as<long long>();
      t.partial_runs = row[4].as<long long>();
      t.failed_runs = row[5].as<long long>();
      t.blocked_runs = row[6].as<long long>();
      t.rows_attempted = row[7].as<long long>();
      t.rows_succeeded = row[8].as<long long>();
      t.rows_failed = row[9].as<long long>();
      t.rows_rejected = row[10].as<long long>();
      if (!row[11].is_null()) t.last_run_at = sql::FromMicros(row[11].as<long long>());
      t.last_status = row[12].c_str();
      out.push_back(std::move(t));
    }
  });
  if (!st.ok()) return st;
  return out;
}

Result<std::vector<ChangeEntry>> StateReader::RecentChanges(const std::string& sync_name,
                                                            int limit) {
  std::vector<ChangeEntry> out;
  Status st = conn_->NonTransaction("read the change log", [&](pqxx::nontransaction& tx) {
    pqxx::result r = tx.exec_params(
        "SELECT id, run_id, sync_name, destination, warehouse_id, coalesce(destination_id, ''), "
        "operation, changed_fields::text, " + sql::EpochMicros("sent_at") + ", planned FROM " +
            QuoteIdent(schema_) + ".change_log WHERE ($1 = '' OR sync_name = $1) "
            // Newest written first: a backward scan of the primary key stops after `limit`
            // rows (ordered by sent_at, every dashboard refresh sorted the whole log).
            "ORDER BY id DESC LIMIT $2",
        sync_name, limit);
    for (const auto& row : r) {
      ChangeEntry e;
      e.id = row[0].as<long long>();
      e.run_id = row[1].as<long long>();
      e.sync_name = row[2].c_str();
      e.destination = row[3].c_str();
      e.warehouse_id = row[4].c_str();
      e.destination_id = row[5].c_str();
      e.operation = row[6].c_str();
      e.changed_fields = sql::ParseTextArray(row[7].c_str());
      e.sent_at = sql::FromMicros(row[8].as<long long>());
      e.planned = row[9].as<bool>();
      out.push_back(std::move(e));
    }
  });
  if (!st.ok()) return st;
  return out;
}

Result<std::vector<FailureReason>> StateReader::TopFailureReasons(const std::string& sync_name,
                                                                  int recent_runs, int limit) {
  std::vector<FailureReason> out;
  Status st = conn_->NonTransaction("read failure reasons", [&](pqxx::nontransaction& tx) {
    pqxx::result r = tx.exec_params(
        "SELECT r.sync_name, e.key, sum(CASE WHEN jsonb_typeof(e.value) = 'number' "
        "THEN (e.value #>> '{}')::numeric ELSE 1 END)::bigint, " +
            sql::EpochMicros("max(coalesce(r.finished_at, r.started_at))") +
            " FROM (SELECT *, row_number() OVER (PARTITION BY sync_name "
            "ORDER BY started_at DESC, run_id DESC) AS n FROM " + QuoteIdent(schema_) +
            ".sync_runs WHERE kind <> 'plan' AND ($1 = '' OR sync_name = $1)) r "
            "CROSS JOIN LATERAL jsonb_each(CASE WHEN jsonb_typeof(r.error_summary) = 'object' "
            "THEN r.error_summary ELSE '{}' END) e "
            "WHERE r.n <= $2 GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT $3",
        sync_name, recent_runs, limit);
    for (const auto& row : r)
      out.push_back({row[0].c_str(), row[1].c_str(), row[2].as<long long>(),
                     sql::FromMicros(row[3].as<long long>())});
  });
  if (!st.ok()) return st;
  return out;
}

Result<std::vector<RunRecord>> StateReader::BlockedRuns(const std::string& sync_name, int limit) {
  std::vector<RunRecord> runs;
  Status st = conn_->NonTransaction("read blocked runs", [&](pqxx::nontransaction& tx) {
    pqxx::result r = tx.exec_params(
        "SELECT " + sql::RunColumns() + " FROM " + QuoteIdent(schema_) +
            ".sync_runs WHERE status = 'blocked' AND ($1 = '' OR sync_name = $1) "
            "ORDER BY started_at DESC, run_id DESC LIMIT $2",
        sync_name, limit);
    for (const auto& row : r) runs.push_back(sql::RunFromRow(row));
  });
  if (!st.ok()) return st;
  return runs;
}

}  // namespace backflow
