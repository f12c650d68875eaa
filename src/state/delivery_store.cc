#include "state/delivery_store.h"

#include <openssl/evp.h>

#include <map>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "state/migrations.h"
#include "state/sql_util.h"

namespace backflow {
namespace {

using nlohmann::json;

// Every record of a batch becomes one element of a JSON array; each statement reads
// it with jsonb_to_recordset, so a batch costs one round trip per table.
const char* const kInput =
    "jsonb_to_recordset($1::jsonb) AS x(wid text, kind text, hash text, did text, "
    "log_did text, op text, vals jsonb, changed jsonb, changed_vals jsonb, error text, "
    "category text)";

std::set<std::string> PiiFields(const SyncConfig& sync) {
  std::set<std::string> pii;
  if (sync.contract)
    for (const auto& [field, rule] : sync.contract->fields)
      if (rule.pii) pii.insert(field);
  return pii;
}

const char* KindName(OutcomeKind kind) {
  switch (kind) {
    case OutcomeKind::kDelivered: return "delivered";
    case OutcomeKind::kRetryable: return "retryable";
    case OutcomeKind::kPermanent: return "permanent";
    case OutcomeKind::kSkipped: return "skipped";
  }
  return "skipped";
}

// The attempt number a failing row reaches: +1 for the same version, 1 for a newer one.
const char* const kNewAttempts =
    "(CASE WHEN r.row_hash = EXCLUDED.row_hash THEN r.attempts + 1 ELSE 1 END)";

// initial_backoff * 2^(attempts-1), capped at max_backoff ($3, $4 in milliseconds).
std::string Backoff(const std::string& attempts) {
  return "make_interval(secs => least($3::float8 * power(2::float8, least(" + attempts +
         " - 1, 62)), $4::float8) / 1000.0)";
}

}  // namespace

Result<std::unique_ptr<DeliveryStore>> DeliveryStore::Open(PgConnection* conn,
                                                           std::string state_schema) {
  Result<std::string> salt = LoadSalt(*conn, state_schema);
  if (!salt.ok()) return salt.status();
  return std::unique_ptr<DeliveryStore>(
      new DeliveryStore(conn, std::move(state_schema), std::move(salt).value()));
}

std::string DeliveryStore::HashPii(const std::string& value) const {
  const std::string input = salt_ + value;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(input.data(), input.size(), md, &len, EVP_sha256(), nullptr);
  static const char kHex[] = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0xf];
  }
  return out;
}

Result<CommitTotals> DeliveryStore::CommitBatch(const BatchCommit& batch) {
  if (!batch.sync || !batch.destination || !batch.fields || !batch.records)
    return Status::InvalidArgument("CommitBatch needs sync, destination, fields and records");
  const auto& records = *batch.records;
  const auto& fields = *batch.fields;
  if (batch.outcomes && batch.outcomes->size() != records.size())
    return Status::InvalidArgument("CommitBatch: outcomes and records differ in length");
  if (!batch.outcomes && !batch.dry_run)
    return Status::InvalidArgument("CommitBatch: a sync batch needs its outcomes");

  const std::set<std::string> pii = PiiFields(*batch.sync);
  std::unordered_map<std::string, size_t> field_index;
  for (size_t j = 0; j < fields.size(); ++j) field_index[fields[j]] = j;
  auto value_json = [&](const Record& rec, size_t j) -> json {
    if (j >= rec.values.size() || rec.values[j].is_null()) return nullptr;
    return pii.count(fields[j]) ? json(HashPii(rec.values[j].text)) : json(rec.values[j].text);
  };

  // A warehouse_id occurs once per statement (ON CONFLICT cannot touch a row twice): the
  // last occurrence wins. A destination_id confirmed for two records of the batch (the
  // CRM merged them) stays with the last one.
  std::unordered_map<std::string, size_t> last_of_wid, last_of_did;
  auto outcome_of = [&](size_t i) {
    return batch.outcomes ? (*batch.outcomes)[i] : RecordOutcome{};
  };
  for (size_t i = 0; i < records.size(); ++i) last_of_wid[records[i].warehouse_id] = i;
  for (size_t i = 0; i < records.size(); ++i) {
    if (last_of_wid[records[i].warehouse_id] != i) continue;
    RecordOutcome o = outcome_of(i);
    if (o.kind == OutcomeKind::kDelivered && !o.destination_id.empty())
      last_of_did[o.destination_id] = i;
  }

  CommitTotals totals;
  json rows = json::array();
  bool any_delivered = false, any_failed = false, any_did = false;
  std::vector<std::string> dids;  // confirmed destination ids, for an index lookup
  for (size_t i = 0; i < records.size(); ++i) {
    const Record& rec = records[i];
    const RecordOutcome o = outcome_of(i);
    if (last_of_wid[rec.warehouse_id] != i) continue;
    if (o.kind == OutcomeKind::kSkipped) {
      ++totals.skipped;
      continue;
    }
    const bool delivered = o.kind == OutcomeKind::kDelivered;
    if (batch.dry_run && !delivered) continue;  // a plan only says what would be sent
    json row;
    row["wid"] = rec.warehouse_id;
    row["kind"] = KindName(o.kind);
    row["hash"] = rec.row_hash;
    json vals = json::object();
    for (size_t j = 0; j < fields.size(); ++j) vals[fields[j]] = value_json(rec, j);
    row["vals"] = std::move(vals);
    if (delivered) {
      any_delivered = true;
      ++totals.delivered;
      const bool create = o.created || !rec.previously_delivered;
      ++(create ? totals.created : totals.updated);
      row["op"] = create ? "create" : "update";
      if (!o.destination_id.empty() && last_of_did[o.destination_id] == i) {
        row["did"] = o.destination_id;
        dids.push_back(o.destination_id);
        any_did = true;
      } else if (!o.destination_id.empty()) {
        ++totals.remapped;
      }
      if (!o.destination_id.empty()) row["log_did"] = o.destination_id;
      else if (rec.destination_id) row["log_did"] = *rec.destination_id;
      json changed = json::array(), changed_vals = json::object();
      for (const auto& f : rec.changed_fields) {
        changed.push_back(f);
        auto it = field_index.find(f);
        changed_vals[f] = it == field_index.end() ? json(nullptr) : value_json(rec, it->second);
      }
      row["changed"] = std::move(changed);
      row["changed_vals"] = std::move(changed_vals);
    } else {
      any_failed = true;
      ++totals.failed;
      row["error"] = o.reason;
      row["category"] = o.category;
    }
    rows.push_back(std::move(row));
  }
  if (rows.empty()) return totals;

  const std::string s = QuoteIdent(schema_);
  const std::string input = rows.dump();
  const std::string now = sql::Timestamp(batch.now);
  const std::string& dest = batch.destination->name;
  const std::string& object = batch.sync->object;
  const std::string& sync_name = batch.sync->name;
  const RetryConfig& retry = batch.destination->retry;

  const std::string change_log_sql =
      "INSERT INTO " + s +
      ".change_log (run_id, sync_name, destination, warehouse_id, destination_id, operation, "
      "changed_fields, field_values, sent_at, planned) "
      "SELECT $2, $3, $4, x.wid, x.log_did, x.op, "
      "ARRAY(SELECT jsonb_array_elements_text(coalesce(x.changed, '[]'))), "
      "coalesce(x.changed_vals, '{}'), $5::timestamptz, $6 FROM " + std::string(kInput) +
      " WHERE x.kind = 'delivered'";

  Status st = conn_->InTransaction("commit a delivered batch", [&](pqxx::work& tx) {
    if (batch.dry_run) {
      tx.exec_params(change_log_sql, input, batch.run_id, sync_name, dest, now, true);
      return;
    }
    if (any_did) {
      // Another record holds the id now confirmed for this one (merged or re-keyed in the
      // destination): the confirmation wins, the stale mapping forgets the id. The id list
      // ($5) makes this an index lookup even before id_mappings has statistics (a fresh
      // schema's first backfill would otherwise compare every mapping with every row).
      pqxx::result r = tx.exec_params(
          "UPDATE " + s + ".id_mappings m SET destination_id = NULL, updated_at = $2::timestamptz "
          "FROM " + kInput + " WHERE x.kind = 'delivered' AND x.did IS NOT NULL "
          "AND m.destination_system = $3 AND m.object_type = $4 "
          "AND m.destination_id = ANY($5::text[]) "
          "AND m.destination_id = x.did AND m.warehouse_id <> x.wid",
          input, now, dest, object, sql::TextArray(dids));
      totals.remapped += static_cast<long long>(r.affected_rows());
    }
    tx.exec_params(
        "INSERT INTO " + s + ".id_mappings AS m (warehouse_id, destination_system, object_type, "
        "destination_id, sync_status, last_synced_at, updated_at) "
        "SELECT x.wid, $3, $4, CASE WHEN x.kind = 'delivered' THEN x.did END, "
        "CASE WHEN x.kind = 'delivered' THEN 'success' ELSE 'failed' END, "
        "CASE WHEN x.kind = 'delivered' THEN $2::timestamptz END, $2::timestamptz FROM " +
            std::string(kInput) +
            " ON CONFLICT (destination_system, object_type, warehouse_id) DO UPDATE SET "
            "destination_id = coalesce(EXCLUDED.destination_id, m.destination_id), "
            "sync_status = EXCLUDED.sync_status, "
            "last_synced_at = coalesce(EXCLUDED.last_synced_at, m.last_synced_at), "
            "updated_at = EXCLUDED.updated_at",
        input, now, dest, object);
    if (any_delivered) {
      tx.exec_params(
          "INSERT INTO " + s + ".row_state (sync_name, warehouse_id, row_hash, field_values, "
          "delivered_at, run_id) SELECT $2, x.wid, x.hash, x.vals, $3::timestamptz, $4 FROM " +
              std::string(kInput) +
              " WHERE x.kind = 'delivered' ON CONFLICT (sync_name, warehouse_id) DO UPDATE SET "
              "row_hash = EXCLUDED.row_hash, field_values = EXCLUDED.field_values, "
              "delivered_at = EXCLUDED.delivered_at, run_id = EXCLUDED.run_id",
          input, sync_name, now, batch.run_id);
      tx.exec_params(change_log_sql, input, batch.run_id, sync_name, dest, now, false);
      tx.exec_params("DELETE FROM " + s + ".retry_queue r USING " + kInput +
                         " WHERE x.kind = 'delivered' AND r.sync_name = $2 AND r.warehouse_id = x.wid",
                     input, sync_name);
    }
    if (any_failed) {
      // Only a permanent failure (the destination refused the content) is dead-lettered
      // after retry.max_attempts; a transient one stays pending with its backoff capped
      // at max_backoff, because a row is sent until the destination confirms it.
      for (const auto& [kind, can_die] : {std::pair<const char*, bool>{"retryable", false},
                                          std::pair<const char*, bool>{"permanent", true}}) {
        pqxx::row r = tx.exec_params1(
          "WITH up AS (INSERT INTO " + s + ".retry_queue AS r (sync_name, warehouse_id, "
          "destination, row_hash, attempts, next_attempt_at, last_error, error_category, "
          "payload, status, first_failed_at, updated_at, last_run_id) "
          "SELECT $2, x.wid, $5, x.hash, 1, $6::timestamptz + " + Backoff("1") +
              ", x.error, x.category, x.vals, CASE WHEN $10 AND 1 >= $7 THEN 'dead' ELSE 'pending' END, "
              "$6::timestamptz, $6::timestamptz, $8 FROM " + kInput +
              " WHERE x.kind = $9 "
              "ON CONFLICT (sync_name, warehouse_id) DO UPDATE SET "
              "attempts = " + kNewAttempts + ", "
              "next_attempt_at = EXCLUDED.updated_at + " + Backoff(kNewAttempts) + ", "
              "status = CASE WHEN $10 AND " + kNewAttempts + " >= $7 THEN 'dead' ELSE 'pending' END, "
              "first_failed_at = CASE WHEN r.row_hash = EXCLUDED.row_hash "
              "THEN r.first_failed_at ELSE EXCLUDED.first_failed_at END, "
              "row_hash = EXCLUDED.row_hash, destination = EXCLUDED.destination, "
              "last_error = EXCLUDED.last_error, error_category = EXCLUDED.error_category, "
              "payload = EXCLUDED.payload, updated_at = EXCLUDED.updated_at, "
              "last_run_id = EXCLUDED.last_run_id RETURNING status) "
              "SELECT count(*) FILTER (WHERE status = 'dead') FROM up",
          input, sync_name, static_cast<double>(retry.initial_backoff.count()),
          static_cast<double>(retry.max_backoff.count()), dest, now, retry.max_attempts,
          batch.run_id, std::string(kind), can_die);
        totals.dead += r[0].as<long long>();
      }
    }
  });
  if (!st.ok()) return st;
  return totals;
}

Status DeliveryStore::CommitDeletes(const SyncConfig& sync, const DestinationConfig& dest,
                                    long long run_id,
                                    const std::vector<std::string>& warehouse_ids, WallTime now) {
  if (warehouse_ids.empty()) return Status::Ok();
  const std::string s = QuoteIdent(schema_);
  const std::string ids = sql::TextArray(warehouse_ids);
  const std::string ts = sql::Timestamp(now);
  return conn_->InTransaction("commit deleted records", [&](pqxx::work& tx) {
    tx.exec_params(
        "INSERT INTO " + s + ".change_log (run_id, sync_name, destination, warehouse_id, "
        "destination_id, operation, sent_at) "
        "SELECT $2, $3, $4, w, m.destination_id, 'delete', $6::timestamptz "
        "FROM unnest($1::text[]) AS w LEFT JOIN " + s + ".id_mappings m "
        "ON m.destination_system = $4 AND m.object_type = $5 AND m.warehouse_id = w",
        ids, run_id, sync.name, dest.name, sync.object, ts);
    tx.exec_params("UPDATE " + s + ".id_mappings SET sync_status = 'deleted', "
                   "updated_at = $4::timestamptz WHERE destination_system = $2 "
                   "AND object_type = $3 AND warehouse_id = ANY($1::text[])",
                   ids, dest.name, sync.object, ts);
    tx.exec_params("DELETE FROM " + s + ".row_state WHERE sync_name = $2 "
                   "AND warehouse_id = ANY($1::text[])", ids, sync.name);
    tx.exec_params("DELETE FROM " + s + ".retry_queue WHERE sync_name = $2 "
                   "AND warehouse_id = ANY($1::text[])", ids, sync.name);
  });
}

Status DeliveryStore::SaveCursor(const std::string& sync_name, const std::string& cursor) {
  const std::string s = QuoteIdent(schema_);
  return conn_->InTransaction("save the sync cursor", [&](pqxx::work& tx) {
    tx.exec_params("INSERT INTO " + s + ".sync_cursors (sync_name, cursor, updated_at) "
                   "VALUES ($1, $2, now()) ON CONFLICT (sync_name) DO UPDATE SET "
                   "cursor = EXCLUDED.cursor, updated_at = EXCLUDED.updated_at",
                   sync_name, cursor);
  });
}

Result<long long> DeliveryStore::RetryQueueDepth(const std::string& sync_name,
                                                 const std::string& status) {
  const std::string s = QuoteIdent(schema_);
  long long depth = 0;
  Status st = conn_->NonTransaction("read the retry-queue depth", [&](pqxx::nontransaction& tx) {
    depth = tx.exec_params1("SELECT count(*) FROM " + s +
                                ".retry_queue WHERE sync_name = $1 AND status = $2",
                            sync_name, status)[0]
                .as<long long>();
  });
  if (!st.ok()) return st;
  return depth;
}

}  // namespace backflow
