#include "state/delivery_store.h"

#include <openssl/evp.h>

#include <map>
#include <string_view>
#include <unordered_map>

#include "backflow/json_text.h"
#include "state/migrations.h"
#include "state/sql_util.h"

namespace backflow {
namespace {


// Every record of a commit is staged once, by COPY, in a session temp table; each
// statement then reads it as `x`, so the rows are parsed once per commit rather than once
// per statement, and a commit costs one round trip per table. The change log, which is
// only appended to, is written by a COPY of its own.
const char* const kStaging = "pg_temp.bf_commit";
const char* const kCreateStaging =
    "CREATE TEMP TABLE IF NOT EXISTS bf_commit (wid text, kind text, hash text, did text, "
    "vals jsonb, error text, category text) ON COMMIT DELETE ROWS";
const char* const kInput = "pg_temp.bf_commit AS x";

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

// initial_backoff * 2^(attempts-1), capped at max_backoff ($2, $3 in milliseconds).
std::string Backoff(const std::string& attempts) {
  return "make_interval(secs => least($2::float8 * power(2::float8, least(" + attempts +
         " - 1, 62)), $3::float8) / 1000.0)";
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
  std::vector<bool> pii_at(fields.size());
  std::unordered_map<std::string, size_t> field_index;
  for (size_t j = 0; j < fields.size(); ++j) {
    field_index[fields[j]] = j;
    pii_at[j] = pii.count(fields[j]) > 0;
  }
  // {"field": "value" | null, ...} for the given value positions.
  auto values_json = [&](const Record& rec, const std::vector<size_t>& positions) {
    std::string out = "{";
    for (size_t k = 0; k < positions.size(); ++k) {
      const size_t j = positions[k];
      if (k) out.push_back(',');
      AppendJsonString(&out, fields[j]);
      out.push_back(':');
      if (j >= rec.values.size() || rec.values[j].is_null()) out += "null";
      else AppendJsonString(&out, pii_at[j] ? HashPii(rec.values[j].text) : rec.values[j].text);
    }
    out.push_back('}');
    return out;
  };
  std::vector<size_t> all_fields(fields.size());
  for (size_t j = 0; j < fields.size(); ++j) all_fields[j] = j;

  // A warehouse_id occurs once per statement (ON CONFLICT cannot touch a row twice): the
  // last occurrence wins. A destination_id confirmed for two records of the batch (the
  // CRM merged them) stays with the last one.
  // (The maps' keys are views of the batch's own strings.)
  std::vector<bool> last(records.size());  // the record is its warehouse_id's last occurrence
  {
    std::unordered_map<std::string_view, size_t> last_of_wid;
    last_of_wid.reserve(records.size());
    for (size_t i = 0; i < records.size(); ++i) last_of_wid[records[i].warehouse_id] = i;
    for (const auto& [wid, i] : last_of_wid) last[i] = true;
  }
  static const RecordOutcome kPlanned{};  // a plan's records: delivered, as it would be
  auto outcome_of = [&](size_t i) -> const RecordOutcome& {
    return batch.outcomes ? (*batch.outcomes)[i] : kPlanned;
  };
  std::unordered_map<std::string_view, size_t> last_of_did;
  for (size_t i = 0; i < records.size(); ++i) {
    const RecordOutcome& o = outcome_of(i);
    if (last[i] && o.kind == OutcomeKind::kDelivered && !o.destination_id.empty())
      last_of_did[o.destination_id] = i;
  }

  CommitTotals totals;
  const std::string now = sql::Timestamp(batch.now);
  const std::string run_id = std::to_string(batch.run_id);
  sql::CopyText staged, logged;  // bf_commit's rows, change_log's rows
  bool any_delivered = false, any_failed = false;
  bool all_fresh = !batch.dry_run;  // no record of the group had state (see below)
  // Confirmed destination ids the record did not hold before, with its warehouse id: only
  // these can collide with another record's mapping.
  std::vector<std::string> remap_dids, remap_wids;
  for (size_t i = 0; i < records.size(); ++i) {
    const Record& rec = records[i];
    const RecordOutcome& o = outcome_of(i);
    if (!last[i]) continue;
    if (o.kind == OutcomeKind::kSkipped) {
      ++totals.skipped;
      continue;
    }
    const bool delivered = o.kind == OutcomeKind::kDelivered;
    if (batch.dry_run && !delivered) continue;  // a plan only says what would be sent
    if (rec.previously_delivered || rec.destination_id) all_fresh = false;
    staged.Text(rec.warehouse_id).Raw(KindName(o.kind)).Text(rec.row_hash);
    if (!delivered) {
      any_failed = true;
      ++totals.failed;
      staged.Null().Text(values_json(rec, all_fields)).Text(o.reason).Text(o.category).EndRow();
      continue;
    }
    any_delivered = true;
    ++totals.delivered;
    const bool create = o.created || !rec.previously_delivered;
    ++(create ? totals.created : totals.updated);
    if (!o.destination_id.empty() && last_of_did[o.destination_id] == i) {
      staged.Text(o.destination_id);
      if (rec.destination_id != o.destination_id) {
        remap_dids.push_back(o.destination_id);
        remap_wids.push_back(rec.warehouse_id);
      }
    } else {
      staged.Null();
      if (!o.destination_id.empty()) ++totals.remapped;
    }
    staged.Text(values_json(rec, all_fields)).Null().Null().EndRow();

    // The log: the changed fields and their values (PII hashed), null for a changed
    // field the batch has no value for.
    std::vector<size_t> positions;
    std::string unknown;
    for (const auto& f : rec.changed_fields) {
      auto it = field_index.find(f);
      if (it != field_index.end()) {
        positions.push_back(it->second);
      } else {
        unknown.push_back(',');
        AppendJsonString(&unknown, f);
        unknown += ":null";
      }
    }
    std::string changed_vals = values_json(rec, positions);
    if (!unknown.empty())
      changed_vals.insert(changed_vals.size() - 1, positions.empty() ? unknown.substr(1) : unknown);
    logged.Raw(run_id.c_str()).Text(batch.sync->name).Text(batch.destination->name);
    logged.Text(rec.warehouse_id);
    if (!o.destination_id.empty()) logged.Text(o.destination_id);
    else if (rec.destination_id) logged.Text(*rec.destination_id);
    else logged.Null();
    logged.Raw(create ? "create" : "update").Text(sql::TextArray(rec.changed_fields));
    logged.Text(changed_vals).Text(now).Raw(batch.dry_run ? "t" : "f").EndRow();
  }
  if (staged.empty()) return totals;

  const std::string s = QuoteIdent(schema_);
  const std::string& dest = batch.destination->name;
  const std::string& object = batch.sync->object;
  const std::string& sync_name = batch.sync->name;
  const RetryConfig& retry = batch.destination->retry;

  // Each record's mapping, and the delivered records' state, as plain inserts; upserts
  // add an ON CONFLICT clause.
  const std::string mappings_insert =
      "INSERT INTO " + s + ".id_mappings AS m (warehouse_id, destination_system, object_type, "
      "destination_id, sync_status, last_synced_at, updated_at) "
      "SELECT x.wid, $2, $3, CASE WHEN x.kind = 'delivered' THEN x.did END, "
      "CASE WHEN x.kind = 'delivered' THEN 'success' ELSE 'failed' END, "
      "CASE WHEN x.kind = 'delivered' THEN $1::timestamptz END, $1::timestamptz FROM " +
      std::string(kInput);
  const std::string state_insert =
      "INSERT INTO " + s + ".row_state (sync_name, warehouse_id, row_hash, field_values, "
      "delivered_at, run_id) SELECT $1, x.wid, x.hash, x.vals, $2::timestamptz, $3 FROM " +
      std::string(kInput) + " WHERE x.kind = 'delivered'";

  Status st = conn_->InTransaction("commit a delivered batch", [&](pqxx::work& tx) {
    if (!staging_created_) {
      tx.exec("SET LOCAL client_min_messages = warning");
      tx.exec(kCreateStaging);
    }
    logged.CopyInto(tx, s + ".change_log",
                    {"run_id", "sync_name", "destination", "warehouse_id", "destination_id",
                     "operation", "changed_fields", "field_values", "sent_at", "planned"});
    if (batch.dry_run) return;  // a plan writes the log alone
    staged.CopyInto(tx, kStaging, {"wid", "kind", "hash", "did", "vals", "error", "category"});
    // A group of records none of which had state (a first backfill, new rows) is
    // inserted plainly: an upsert probes each unique index before inserting, and the
    // remap probes every new destination id, which a first backfill of 1M rows paid
    // 1M times over. If a record had state after all (a mapping left by a failure, or
    // by another sync of the same object, or a destination id another record holds),
    // the insert fails on that unique index and the group is upserted as below.
    bool inserted = false;
    if (all_fresh) {
      tx.exec("SAVEPOINT bf_fresh");
      try {
        tx.exec_params(mappings_insert, now, dest, object);
        if (any_delivered) tx.exec_params(state_insert, sync_name, now, batch.run_id);
        inserted = true;
      } catch (const pqxx::unique_violation&) {
        tx.exec("ROLLBACK TO SAVEPOINT bf_fresh");  // and upserted below
      }
      tx.exec("RELEASE SAVEPOINT bf_fresh");
    }
    if (!inserted) {
      if (!remap_dids.empty()) {
        // Another record may hold an id now confirmed for this one (the CRM merged or
        // re-keyed them): the confirmation wins, the stale mapping forgets the id. Only
        // ids new to their record are looked up, one index probe each: the probe is a
        // LATERAL subquery the planner cannot flatten into a join, because during a first
        // backfill id_mappings' statistics still say "empty" and a join was planned as a
        // scan of every mapping per commit. The update touches only the stale mappings.
        pqxx::result stale = tx.exec_params(
            "SELECT h.warehouse_id FROM unnest($3::text[], $4::text[]) AS c(did, wid) "
            "CROSS JOIN LATERAL (SELECT warehouse_id FROM " + s + ".id_mappings h "
            "WHERE h.destination_system = $1 AND h.object_type = $2 AND h.destination_id = c.did "
            "AND h.warehouse_id <> c.wid OFFSET 0) h",
            dest, object, sql::TextArray(remap_dids), sql::TextArray(remap_wids));
        std::vector<std::string> stale_wids;
        for (const auto& row : stale) stale_wids.push_back(row[0].c_str());
        if (!stale_wids.empty()) {
          pqxx::result r = tx.exec_params(
              "UPDATE " + s + ".id_mappings SET destination_id = NULL, updated_at = $1::timestamptz "
              "WHERE destination_system = $2 AND object_type = $3 AND warehouse_id = ANY($4::text[])",
              now, dest, object, sql::TextArray(stale_wids));
          totals.remapped += static_cast<long long>(r.affected_rows());
        }
      }
      tx.exec_params(mappings_insert +
                         " ON CONFLICT (destination_system, object_type, warehouse_id) DO UPDATE SET "
                         "destination_id = coalesce(EXCLUDED.destination_id, m.destination_id), "
                         "sync_status = EXCLUDED.sync_status, "
                         "last_synced_at = coalesce(EXCLUDED.last_synced_at, m.last_synced_at), "
                         "updated_at = EXCLUDED.updated_at",
                     now, dest, object);
      if (any_delivered) {
        tx.exec_params(state_insert +
                           " ON CONFLICT (sync_name, warehouse_id) DO UPDATE SET "
                           "row_hash = EXCLUDED.row_hash, field_values = EXCLUDED.field_values, "
                           "delivered_at = EXCLUDED.delivered_at, run_id = EXCLUDED.run_id",
                       sync_name, now, batch.run_id);
      }
    }
    if (any_delivered) {
      // Rows in the retry queue are the exception: look them up from its side.
      tx.exec_params("DELETE FROM " + s + ".retry_queue r USING " + kInput +
                         " WHERE x.kind = 'delivered' AND r.sync_name = $1 AND r.warehouse_id = x.wid",
                     sync_name);
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
          "SELECT $1, x.wid, $4, x.hash, 1, $5::timestamptz + " + Backoff("1") +
              ", x.error, x.category, x.vals, CASE WHEN $9 AND 1 >= $6 THEN 'dead' ELSE 'pending' END, "
              "$5::timestamptz, $5::timestamptz, $7 FROM " + kInput +
              " WHERE x.kind = $8 "
              "ON CONFLICT (sync_name, warehouse_id) DO UPDATE SET "
              "attempts = " + kNewAttempts + ", "
              "next_attempt_at = EXCLUDED.updated_at + " + Backoff(kNewAttempts) + ", "
              "status = CASE WHEN $9 AND " + kNewAttempts + " >= $6 THEN 'dead' ELSE 'pending' END, "
              "first_failed_at = CASE WHEN r.row_hash = EXCLUDED.row_hash "
              "THEN r.first_failed_at ELSE EXCLUDED.first_failed_at END, "
              "row_hash = EXCLUDED.row_hash, destination = EXCLUDED.destination, "
              "last_error = EXCLUDED.last_error, error_category = EXCLUDED.error_category, "
              "payload = EXCLUDED.payload, updated_at = EXCLUDED.updated_at, "
              "last_run_id = EXCLUDED.last_run_id RETURNING status) "
              "SELECT count(*) FILTER (WHERE status = 'dead') FROM up",
          sync_name, static_cast<double>(retry.initial_backoff.count()),
          static_cast<double>(retry.max_backoff.count()), dest, now, retry.max_attempts,
          batch.run_id, std::string(kind), can_die);
        totals.dead += r[0].as<long long>();
      }
    }
  });
  if (!st.ok()) return st;
  staging_created_ = true;
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

Status DeliveryStore::Analyze() {
  const std::string s = QuoteIdent(schema_);
  return conn_->InTransaction("analyze the state tables", [&](pqxx::work& tx) {
    // A table autovacuum is processing (a large run just woke it) is skipped: autovacuum
    // analyzes it too, and waiting for its lock held the run until Postgres cancelled
    // autovacuum a deadlock_timeout later (1-2 s at the end of a 1M-row backfill, the
    // machine idle). The skip's WARNING is expected, not worth a line on stderr.
    tx.exec("SET LOCAL client_min_messages = error");
    tx.exec("ANALYZE (SKIP_LOCKED) " + s + ".row_state, " + s + ".id_mappings");
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
