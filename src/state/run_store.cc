#include "state/run_store.h"

#include <unistd.h>

#include <climits>
#include <nlohmann/json.hpp>

#include "state/sql_util.h"

namespace backflow {
namespace {

std::string HostName() {
  char buf[HOST_NAME_MAX + 1] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

}  // namespace

Status RunStore::Start(RunRecord* run) {
  const std::string s = QuoteIdent(schema_);
  // An unset started_at means "now" by the database's clock.
  const bool has_start = run->started_at != WallTime{};
  return conn_->InTransaction("record the start of a run", [&](pqxx::work& tx) {
    pqxx::row r = tx.exec_params1(
        "INSERT INTO " + s +
            ".sync_runs (sync_name, destination, kind, started_at, status, forced, host) "
            "VALUES ($1, $2, $3, CASE WHEN $4 THEN $5::timestamptz ELSE now() END, 'running', $6, $7) "
            "RETURNING run_id, " + sql::EpochMicros("started_at"),
        run->sync_name, run->destination, run->kind, has_start, sql::Timestamp(run->started_at),
        run->forced, HostName());
    run->run_id = r[0].as<long long>();
    run->started_at = sql::FromMicros(r[1].as<long long>());
    run->status = "running";
  });
}

Status RunStore::Finish(const RunRecord& run) {
  const std::string s = QuoteIdent(schema_);
  nlohmann::json summary = nlohmann::json::object();
  for (const auto& [reason, count] : run.error_summary) summary[reason] = count;
  const RunCounts& c = run.counts;
  long long updated = 0;
  Status st = conn_->InTransaction("record the end of a run", [&](pqxx::work& tx) {
    pqxx::result r = tx.exec_params(
        "UPDATE " + s +
            ".sync_runs SET finished_at = CASE WHEN $2 THEN $3::timestamptz ELSE now() END, "
            "status = $4, rows_read = $5, rows_changed = $6, rows_attempted = $7, "
            "rows_succeeded = $8, rows_failed = $9, rows_rejected = $10, rows_skipped = $11, "
            "rows_deleted = $12, api_requests = $13, error_summary = $14::jsonb, "
            "message = nullif($15, ''), forced = $16 WHERE run_id = $1",
        run.run_id, run.finished_at.has_value(),
        sql::Timestamp(run.finished_at.value_or(WallTime{})), run.status, c.rows_read,
        c.rows_changed, c.rows_attempted, c.rows_succeeded, c.rows_failed, c.rows_rejected,
        c.rows_skipped, c.rows_deleted, c.api_requests, summary.dump(), run.message, run.forced);
    updated = static_cast<long long>(r.affected_rows());
  });
  if (!st.ok()) return st;
  if (updated == 0) return Status::NotFound("no run " + std::to_string(run.run_id) + " to finish");
  return Status::Ok();
}

Result<long long> RunStore::CloseAbandoned(const std::string& sync_name) {
  const std::string s = QuoteIdent(schema_);
  long long closed = 0;
  Status st = conn_->InTransaction("close abandoned runs", [&](pqxx::work& tx) {
    pqxx::result r = tx.exec_params(
        "UPDATE " + s +
            ".sync_runs SET status = 'failed', finished_at = now(), "
            "message = 'Abandoned: the process running it stopped before the run finished.' "
            "WHERE status = 'running' AND ($1 = '' OR sync_name = $1)",
        sync_name);
    closed = static_cast<long long>(r.affected_rows());
  });
  if (!st.ok()) return st;
  return closed;
}

Result<std::vector<RunRecord>> RunStore::Recent(const std::string& sync_name, int limit) {
  const std::string s = QuoteIdent(schema_);
  std::vector<RunRecord> runs;
  Status st = conn_->NonTransaction("read recent runs", [&](pqxx::nontransaction& tx) {
    pqxx::result r = tx.exec_params(
        "SELECT " + sql::RunColumns() + " FROM " + s +
            ".sync_runs WHERE ($1 = '' OR sync_name = $1) "
            "ORDER BY started_at DESC, run_id DESC LIMIT $2",
        sync_name, limit);
    for (const auto& row : r) runs.push_back(sql::RunFromRow(row));
  });
  if (!st.ok()) return st;
  return runs;
}

}  // namespace backflow
