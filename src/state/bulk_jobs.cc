#include "state/bulk_jobs.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "state/sql_util.h"

namespace backflow {
namespace {

using nlohmann::json;

json ValueJson(const FieldValue& v) {
  if (v.is_null()) return nullptr;
  return json::array({static_cast<int>(v.kind), v.text});
}

FieldValue ValueFrom(const json& j) {
  FieldValue v;
  if (!j.is_array() || j.size() != 2) return v;
  const int kind = j[0].get<int>();
  if (kind <= static_cast<int>(ValueKind::kNull) || kind > static_cast<int>(ValueKind::kJson))
    return v;
  v.kind = static_cast<ValueKind>(kind);
  v.text = j[1].get<std::string>();
  return v;
}

bool Withheld(const std::vector<size_t>& withheld, size_t j) {
  return std::find(withheld.begin(), withheld.end(), j) != withheld.end();
}

json RecordJson(const Record& r, const std::vector<size_t>& withheld) {
  json values = json::array();
  for (size_t i = 0; i < r.values.size(); ++i)
    values.push_back(Withheld(withheld, i) ? json(nullptr) : ValueJson(r.values[i]));
  json previous = json::array();
  for (size_t i = 0; i < r.previous_values.size(); ++i) {
    const auto& p = r.previous_values[i];
    previous.push_back(p && !Withheld(withheld, i) ? json(*p) : json(nullptr));
  }
  json j = {{"w", r.warehouse_id}, {"h", r.row_hash}, {"v", std::move(values)},
            {"c", r.changed_fields}, {"p", r.previously_delivered}};
  if (r.destination_id) j["d"] = *r.destination_id;
  if (!previous.empty()) j["pv"] = std::move(previous);
  return j;
}

// Short keys: a job carries up to 50,000 records. Written one record at a time: a json
// document of a whole job would hold several times the records' own memory.
std::string RecordsJson(std::span<const Record> records, const std::vector<size_t>& withheld) {
  std::string out = "[";
  for (const Record& r : records) {
    if (out.size() > 1) out += ',';
    out += RecordJson(r, withheld).dump(-1, ' ', false, json::error_handler_t::replace);
  }
  out += ']';
  return out;
}

std::vector<Record> RecordsFrom(const json& j) {
  std::vector<Record> out;
  if (!j.is_array()) return out;
  for (const json& e : j) {
    Record r;
    r.warehouse_id = e.value("w", "");
    r.row_hash = e.value("h", "");
    r.previously_delivered = e.value("p", false);
    if (e.contains("d") && e["d"].is_string()) r.destination_id = e["d"].get<std::string>();
    if (e.contains("v"))
      for (const json& v : e["v"]) r.values.push_back(ValueFrom(v));
    if (e.contains("c")) r.changed_fields = e["c"].get<std::vector<std::string>>();
    if (e.contains("pv"))
      for (const json& p : e["pv"])
        r.previous_values.push_back(p.is_string() ? std::optional<std::string>(p.get<std::string>())
                                                  : std::nullopt);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

std::optional<BulkJobState> ParseBulkJobState(const std::string& name) {
  for (BulkJobState s : {BulkJobState::kOpen, BulkJobState::kUploadComplete,
                         BulkJobState::kInProgress, BulkJobState::kJobComplete,
                         BulkJobState::kFailed, BulkJobState::kAborted})
    if (name == BulkJobStateName(s)) return s;
  return std::nullopt;
}

PgBulkJobJournal::PgBulkJobJournal(Secret dsn, std::string state_schema)
    : dsn_(std::move(dsn)), schema_(std::move(state_schema)) {}

PgBulkJobJournal::~PgBulkJobJournal() = default;

Status PgBulkJobJournal::Run(const std::string& what,
                             const std::function<void(pqxx::work&)>& fn) {
  for (int attempt = 0;; ++attempt) {
    if (!conn_ || !conn_->is_open()) {
      auto conn = PgConnection::Open(dsn_);
      if (!conn.ok()) return conn.status();
      conn_ = std::move(conn).value();
    }
    Status st = conn_->InTransaction(what, fn);
    // A broken connection (the server restarted) is reopened once; SQL errors are not retried.
    if (st.ok() || st.code() != StatusCode::kUnavailable || attempt >= 1) return st;
    conn_.reset();
  }
}

Status PgBulkJobJournal::Save(const BulkJobEntry& entry) {
  return SaveRecords(entry, entry.records, {});
}

Status PgBulkJobJournal::SaveRecords(const BulkJobEntry& entry, std::span<const Record> records,
                                     const std::vector<size_t>& withheld) {
  std::vector<std::string> ids;
  ids.reserve(records.size());
  for (const Record& r : records) ids.push_back(r.warehouse_id);
  const std::string fields = json(entry.fields).dump();
  const std::string s = QuoteIdent(schema_);
  std::lock_guard<std::mutex> lock(mu_);
  // The records' document (megabytes for a large job) is written under the lock, one job
  // at a time, and moved into the statement's parameters rather than copied.
  return Run("record a bulk job", [&](pqxx::work& tx) {
    tx.exec_params("INSERT INTO " + s + ".bulk_jobs (job_id, sync_name, destination, state, "
                   "warehouse_ids, fields, records) VALUES ($1, $2, $3, $4, $5::text[], "
                   "$6::jsonb, $7::jsonb) ON CONFLICT (job_id) DO UPDATE SET "
                   "state = EXCLUDED.state, warehouse_ids = EXCLUDED.warehouse_ids, "
                   "fields = EXCLUDED.fields, records = EXCLUDED.records, finished = false, "
                   "updated_at = now()",
                   entry.job_id, entry.sync_name, entry.destination,
                   std::string(BulkJobStateName(entry.state)), sql::TextArray(ids), fields,
                   RecordsJson(records, withheld));
  });
}

Status PgBulkJobJournal::Finish(const std::string& job_id, BulkJobState state) {
  const std::string s = QuoteIdent(schema_);
  std::lock_guard<std::mutex> lock(mu_);
  return Run("mark a bulk job finished", [&](pqxx::work& tx) {
    tx.exec_params("UPDATE " + s + ".bulk_jobs SET finished = true, state = $2, "
                   "updated_at = now() WHERE job_id = $1",
                   job_id, std::string(BulkJobStateName(state)));
  });
}

Result<std::vector<BulkJobEntry>> PgBulkJobJournal::ListUnfinished(
    const std::string& sync_name, const std::string& destination) {
  const std::string s = QuoteIdent(schema_);
  std::vector<BulkJobEntry> out;
  std::lock_guard<std::mutex> lock(mu_);
  Status st = Run("list unfinished bulk jobs", [&](pqxx::work& tx) {
    out.clear();
    pqxx::result rows = tx.exec_params(
        "SELECT job_id, state, fields::text, records::text FROM " + s +
            ".bulk_jobs WHERE sync_name = $1 AND destination = $2 AND NOT finished "
            "ORDER BY created_at, job_id",
        sync_name, destination);
    for (const auto& row : rows) {
      BulkJobEntry e;
      e.job_id = row[0].c_str();
      e.sync_name = sync_name;
      e.destination = destination;
      // A state this binary does not know is polled again: the poll says where it is.
      e.state = ParseBulkJobState(row[1].c_str()).value_or(BulkJobState::kUploadComplete);
      json fields = json::parse(row[2].c_str(), nullptr, false);
      if (fields.is_array())
        for (const json& f : fields)
          if (f.is_string()) e.fields.push_back(f.get<std::string>());
      json records = json::parse(row[3].c_str(), nullptr, false);
      try {
        e.records = RecordsFrom(records);
      } catch (const json::exception&) {
        e.records.clear();  // unreadable: resuming it could commit nothing useful
      }
      out.push_back(std::move(e));
    }
  });
  if (!st.ok()) return st;
  return out;
}

}  // namespace backflow
