#include <algorithm>

#include "observability/dashboard_data.h"
#include "state/state_reader.h"

namespace backflow {
namespace {

RunView ToView(const RunRecord& r) {
  RunView v;
  v.run_id = r.run_id;
  v.kind = r.kind;
  v.status = r.status;
  v.started_at = r.started_at;
  v.finished_at = r.finished_at;
  v.read = r.counts.rows_read;
  v.changed = r.counts.rows_changed;
  v.attempted = r.counts.rows_attempted;
  v.succeeded = r.counts.rows_succeeded;
  v.failed = r.counts.rows_failed;
  v.rejected = r.counts.rows_rejected;
  v.api_requests = r.counts.api_requests;
  v.message = r.message;
  v.forced = r.forced;
  return v;
}

// An example warehouse_id per failure reason: the newest retry-queue row with that
// last_error or error_category (runs summarise destination failures by category), else a
// rejected row whose contract reason has that error_summary key ("contract:<field>:<rule>",
// as the run guards write it). `details` gets the example's last_error for a category, so
// the dashboard can say in words what VALIDATION_ERROR meant.
Status ReadExamples(PgConnection& conn, const std::string& schema, const std::string& sync,
                    std::map<std::string, std::string>* examples,
                    std::map<std::string, std::string>* details) {
  const std::string s = QuoteIdent(schema);
  return conn.NonTransaction("read failure examples", [&](pqxx::nontransaction& tx) {
    pqxx::result q = tx.exec_params(
        "SELECT DISTINCT ON (last_error) last_error, warehouse_id FROM " + s +
            ".retry_queue WHERE sync_name = $1 AND last_error IS NOT NULL"
            " ORDER BY last_error, updated_at DESC",
        sync);
    for (const auto& row : q) examples->emplace(row[0].c_str(), row[1].c_str());
    pqxx::result by_category = tx.exec_params(
        "SELECT DISTINCT ON (error_category) error_category, warehouse_id, last_error FROM " + s +
            ".retry_queue WHERE sync_name = $1 AND error_category IS NOT NULL"
            " ORDER BY error_category, updated_at DESC",
        sync);
    for (const auto& row : by_category) {
      if (!examples->emplace(row[0].c_str(), row[1].c_str()).second) continue;
      if (!row[2].is_null() && row[0].c_str() != std::string(row[2].c_str()))
        details->emplace(row[0].c_str(), row[2].c_str());
    }
    pqxx::result rej = tx.exec_params(
        "SELECT DISTINCT ON (reason) reason, warehouse_id FROM ("
        " SELECT 'contract:' || (e->>'field') || ':' || (e->>'rule') AS reason, r.warehouse_id,"
        " r.id FROM " + s + ".rejected_rows r CROSS JOIN LATERAL jsonb_array_elements("
        " CASE WHEN jsonb_typeof(r.reasons) = 'array' THEN r.reasons ELSE '[]' END) e"
        " WHERE r.run_id = (SELECT max(run_id) FROM " + s + ".rejected_rows WHERE sync_name = $1)"
        " AND r.warehouse_id IS NOT NULL AND jsonb_typeof(e) = 'object') x"
        " WHERE reason IS NOT NULL ORDER BY reason, id",
        sync);
    for (const auto& row : rej) examples->emplace(row[0].c_str(), row[1].c_str());
  });
}

}  // namespace

Result<DashboardData> LoadDashboardData(PgConnection& conn, const std::string& state_schema,
                                        const Config& config, WallTime now,
                                        const DashboardLoadOptions& options) {
  DashboardData data;
  data.generated_at = now;
  StateReader reader(&conn, state_schema);
  auto depths = reader.RetryDepths(now);
  if (!depths.ok()) return depths.status();

  for (const auto& [name, dest] : config.destinations) {
    DestinationView d;
    d.name = name;
    d.type = dest.type;
    auto paused = options.paused.find(name);
    if (paused != options.paused.end()) {
      d.paused = true;
      d.paused_reason = paused->second;
    }
    for (const auto& [sync_name, sync] : config.syncs) {
      if (sync.destination != name) continue;
      SyncView v;
      v.name = sync_name;
      v.moment = sync.moment;
      v.object = sync.object;
      v.destination = name;
      if (options.next_run) v.next_run = options.next_run(sync);

      // Plans are filtered here, so read extra to still fill the window.
      const int want = std::max(1, options.recent_runs);
      auto runs = reader.RecentRuns(sync_name, options.include_plans ? want : want * 3);
      if (!runs.ok()) return runs.status();
      for (const RunRecord& r : *runs) {
        if (!options.include_plans && r.kind == "plan") continue;
        if (static_cast<int>(v.recent_runs.size()) >= want) break;
        v.recent_runs.push_back(ToView(r));
      }

      auto reasons = reader.TopFailureReasons(sync_name, want, options.top_failures);
      if (!reasons.ok()) return reasons.status();
      if (!reasons->empty()) {
        std::map<std::string, std::string> examples, details;
        BF_RETURN_IF_ERROR(ReadExamples(conn, state_schema, sync_name, &examples, &details));
        for (const FailureReason& f : *reasons) {
          auto ex = examples.find(f.reason);
          auto de = details.find(f.reason);
          v.top_failures.push_back({f.reason, f.count, ex == examples.end() ? "" : ex->second,
                                    de == details.end() ? "" : de->second});
        }
      }

      auto depth = depths->find(sync_name);
      if (depth != depths->end()) {
        v.retry_pending = depth->second.pending;
        v.retry_dead = depth->second.dead;
      }
      d.syncs.push_back(std::move(v));
    }
    data.destinations.push_back(std::move(d));
  }
  return data;
}

}  // namespace backflow
