// The delta's SQL. bf_delta's columns are named by position (c0.. for the mapped
// columns in field order, p0.. for the previous values) so a column mapped to two
// destination fields, or named like one of ours, cannot collide.
#include <openssl/evp.h>

#include <cmath>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "planner/delta.h"

namespace backflow {
namespace {

constexpr double kBucketSpace = 4294967296.0;  // 2^32: buckets are 32-bit

// The bucket as an integer in SQL: the first 8 hex digits of md5(warehouse_id).
std::string SqlBucket(const std::string& warehouse_id_expr) {
  return "('x' || lpad(substr(md5(" + warehouse_id_expr + "), 1, 8), 16, '0'))::bit(64)::bigint";
}

// bucket/2^32 < sample  <=>  bucket < ceil(sample * 2^32), exactly, for integer buckets.
long long SampleThreshold(double sample) {
  if (!(sample > 0)) return 0;
  if (sample >= 1) return static_cast<long long>(kBucketSpace);
  return static_cast<long long>(std::ceil(sample * kBucketSpace));
}

std::string TimestampLiteral(WallTime t) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  long long secs = us / 1000000, frac = us % 1000000;
  if (frac < 0) {
    frac += 1000000;
    --secs;
  }
  std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  char out[96];
  std::snprintf(out, sizeof out, "'%s.%06lld+00'::timestamptz", buf, frac);
  return out;
}

struct Names {
  std::string state;        // quoted schema
  std::string sync;         // literal
  std::string destination;  // literal
  std::string object;       // literal
  std::string model;        // FROM-able relation
  std::string pk;           // m."<primary_key>"
};

Names NamesOf(const SyncConfig& sync, const std::string& destination_system,
              const std::string& state_schema) {
  return Names{QuoteIdent(state_schema), QuoteLiteral(sync.name),
               QuoteLiteral(destination_system), QuoteLiteral(sync.object),
               sync.ModelRelation(), "m." + QuoteIdent(sync.primary_key)};
}

// The model's key as the state tables' text: compared bytewise, as their key columns are
// (explicit, so a key column with a collation of its own cannot clash with theirs).
std::string WarehouseId(const Names& n) { return "(" + n.pk + "::text COLLATE \"C\")"; }

std::string MappedColumns(const SyncConfig& sync) {
  std::string out;
  for (size_t i = 0; i < sync.fields.size(); ++i)
    out += ", m." + QuoteIdent(sync.fields[i].column) + " AS c" + std::to_string(i);
  return out;
}

std::string ColumnList(const std::string& prefix, size_t n, const std::string& table = "") {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += ", " + table + prefix + std::to_string(i);
  return out;
}

// 'Email,Lead_Score__c' || row(c0, c1)::text: what the row hash digests. (It depends on
// the values alone, so it is the same over the delta's c0.. as over the model's columns.)
std::string HashedText(const SyncConfig& sync, const std::vector<std::string>& cols) {
  std::string names, list;
  for (size_t i = 0; i < sync.fields.size(); ++i) {
    if (i > 0) {
      names += ",";
      list += ", ";
    }
    names += sync.fields[i].destination_field;
    list += cols[i];
  }
  return QuoteLiteral(names) + " || row(" + list + ")::text";
}

// The row hash over the mapped columns `cols` (SQL expressions, in field order), prefixed
// by the destination field names, so a remapped field changes every row's hash:
//
//   lpad(to_hex(hashtextextended('Email,Lead_Score__c' || row(c0, c1)::text, 0)), 16, '0')
//
// 64 bits of Postgres' own string hash (the one hash partitioning keeps stable across
// versions) as 16 hex digits. The row's text form quotes empty strings and leaves nulls
// empty, so null and '' hash differently. A changed row is missed only when its new
// value hashes exactly like its old one: a chance of 2^-64 per change. md5 over the same
// text, which earlier versions stored (32 hex digits), cost three times as much per row:
// Postgres computes it through OpenSSL, a context allocated and freed each call.
std::string RowHashOf(const SyncConfig& sync, const std::vector<std::string>& cols) {
  return "lpad(to_hex(hashtextextended(" + HashedText(sync, cols) + ", 0)), 16, '0')";
}

// The hash earlier versions stored: md5 over the same text. Still recognised (by its
// length, 32) so that their state stays valid: see Classified and rehash_legacy.
std::string LegacyRowHashOf(const SyncConfig& sync, const std::vector<std::string>& cols) {
  return "md5(" + HashedText(sync, cols) + ")";
}

// The mapped columns as the delta names them, c0.., behind `table` ("k.", "c.").
std::vector<std::string> DeltaColumns(const SyncConfig& sync, const std::string& table) {
  std::vector<std::string> cols;
  for (size_t i = 0; i < sync.fields.size(); ++i) cols.push_back(table + "c" + std::to_string(i));
  return cols;
}

// The mapped columns of the model itself, m."<column>".
std::vector<std::string> ModelColumns(const SyncConfig& sync) {
  std::vector<std::string> cols;
  for (const auto& f : sync.fields) cols.push_back("m." + QuoteIdent(f.column));
  return cols;
}

std::string RowHash(const SyncConfig& sync, const std::string& table) {
  return RowHashOf(sync, DeltaColumns(sync, table));
}

// The CTEs the delta's statements share (count, fill_by_keys, stream_changed), ending in
// `classified`: every model row with its verdict (changed, unchanged, legacy_unchanged,
// held, no_consent, out_of_sample, null_key, duplicate_key), whether it was delivered
// before, and its delivered values (prev). Nothing here is written aside or fenced (no
// OFFSET 0, no MATERIALIZED): each statement is one flat plan (the count one Postgres can
// run with parallel workers, the stream one a cursor reads in key order). The row hash
// appears once in the verdict, as the operand of a simple CASE, so it is computed once
// per row.
std::string Classified(const SyncConfig& sync, const Names& n, const DeltaOptions& options,
                       bool key_unique, const std::optional<std::string>& cursor) {
  const bool by_updated_at =
      sync.strategy == ChangeStrategy::kUpdatedAt && sync.updated_at_column.has_value();
  const std::string ua = by_updated_at ? "m." + QuoteIdent(*sync.updated_at_column) : "";
  const std::string now = options.now ? TimestampLiteral(*options.now) : "now()";

  std::string cols = WarehouseId(n) + " AS warehouse_id, " + n.pk + " AS k" + MappedColumns(sync);
  cols += sync.consent_column
              ? ", (m." + QuoteIdent(*sync.consent_column) + ") IS TRUE AS consented"
              : ", true AS consented";
  cols += by_updated_at ? ", " + ua + " AS ua" : ", NULL::text AS ua";
  const std::string select = "SELECT " + cols + "\n  FROM " + n.model + " AS m";
  std::string rows;
  if (!by_updated_at || !cursor) {
    rows = select;  // no cursor yet: every row
  } else {
    // Rows after the stored cursor minus the lookback (late rows are caught by it), plus
    // queued rows whatever their age, so a failure older than the window is still
    // retried. The bound is a literal, so the planner sizes the window from the column's
    // statistics: a small window is probed row by row in the state tables instead of
    // joined with every state row.
    const std::string since = "(" + QuoteLiteral(*cursor) + "::timestamptz - interval '" +
                              std::to_string(sync.lookback.count()) + " milliseconds')";
    const std::string queued = n.pk + "::text IN (SELECT q.warehouse_id FROM " + n.state +
                               ".retry_queue q WHERE q.sync_name = " + n.sync + ")";
    if (sync.model_table) {
      // A table: two branches, so the window is an index range scan on the column (an
      // OR with the queue lookup would read the whole table).
      rows = select + "\n  WHERE " + ua + " > " + since + "\n  UNION ALL\n  " + select +
             "\n  WHERE (" + ua + " > " + since + ") IS NOT TRUE AND " + queued;
    } else {
      // A SQL model is read once; it has no index to range over.
      rows = select + "\n  WHERE " + ua + " > " + since + " OR " + queued;
    }
  }
  std::string sql = "WITH src AS (\n  " + rows + "\n),\n";
  // A key the table enforces cannot repeat; otherwise every row is counted per key.
  sql += key_unique ? "keyed AS (\n  SELECT s.*, 1 AS key_rows FROM src s\n),\n"
                    : "keyed AS (\n  SELECT s.*, count(*) OVER (PARTITION BY s.warehouse_id)"
                      " AS key_rows FROM src s\n),\n";
  sql += "classified AS (\n  SELECT k.*, (rs.warehouse_id IS NOT NULL) AS delivered,"
         " rs.field_values AS prev,\n    CASE\n"
         "      WHEN k.warehouse_id IS NULL THEN 'null_key'\n"
         "      WHEN k.key_rows > 1 THEN 'duplicate_key'\n"
         "      WHEN NOT k.consented THEN 'no_consent'\n";
  std::optional<double> sample = options.sample ? options.sample : sync.sample;
  if (sample) {
    sql += "      WHEN " + SqlBucket("k.warehouse_id") +
           " >= " + std::to_string(SampleThreshold(*sample)) + " THEN 'out_of_sample'\n";
  }
  if (options.retry_only) {
    std::string due = "q.status = 'pending'";
    if (!options.retry_all_pending) due += " AND q.next_attempt_at <= " + now;
    sql += "      WHEN " + due + " THEN 'changed'\n"
           "      WHEN q.warehouse_id IS NULL THEN 'unchanged'\n"
           "      ELSE 'held'\n";
  } else if (options.full) {
    sql += "      ELSE 'changed'\n";
  } else {
    // Held: this very version failed and waits for its retry time (or is dead). A newer
    // version supersedes the queued one and is sent at once. (When the hash equals the
    // queued one, comparing the delivered hash with the queued one is comparing it with
    // the row's.)
    const std::string held = "CASE WHEN q.status = 'dead' OR q.next_attempt_at > " + now +
                             " THEN 'held'\n"
                             "          WHEN rs.row_hash IS DISTINCT FROM q.row_hash THEN"
                             " 'changed' ELSE 'unchanged' END";
    // A row that matches neither stored hash is compared again, with md5, only when one
    // of them has the earlier versions' form (32 hex digits): a row unchanged since then
    // is 'legacy_unchanged', counted as unchanged, and its hash rewritten after a sync
    // (rehash_legacy). Current state never reaches the md5 (its hashes have 16 digits).
    // A row with neither state nor a queue entry is new: changed, whatever its hash (a
    // backfill's count hashes nothing; the stream hashes each row once, for its state).
    sql += "      WHEN rs.warehouse_id IS NULL AND q.warehouse_id IS NULL THEN 'changed'\n";
    sql += "      ELSE CASE " + RowHash(sync, "k.") + "\n"
           "        WHEN q.row_hash THEN " + held + "\n"
           "        WHEN rs.row_hash THEN 'unchanged'\n"
           "        ELSE CASE CASE WHEN length(q.row_hash) = 32 OR length(rs.row_hash) = 32"
           " THEN " + LegacyRowHashOf(sync, DeltaColumns(sync, "k.")) + " END\n"
           "          WHEN q.row_hash THEN " + held + "\n"
           "          WHEN rs.row_hash THEN 'legacy_unchanged'\n"
           "          ELSE 'changed' END END\n";
  }
  sql += "    END AS verdict\n  FROM keyed k\n"
         "  LEFT JOIN " + n.state + ".row_state rs ON rs.sync_name = " + n.sync +
         " AND rs.warehouse_id = k.warehouse_id\n"
         "  LEFT JOIN " + n.state + ".retry_queue q ON q.sync_name = " + n.sync +
         " AND q.warehouse_id = k.warehouse_id\n)\n";
  return sql;
}

// The summary, one row. The verdict is computed once per row, in a subquery behind
// OFFSET 0 (flattened, every FILTER below would compute it, and the row hash in it,
// again); the subquery is still one plan that parallel workers can run, handing the
// aggregate only the verdicts.
std::string Count(const std::string& classified, bool key_unique, long long fill_by_keys_max) {
  return classified +
         "SELECT count(*) AS rows_read,\n"
         "  count(*) FILTER (WHERE verdict = 'changed') AS rows_changed,\n"
         "  count(*) FILTER (WHERE verdict = 'changed' AND delivered) AS rows_changed_delivered,\n"
         "  count(*) FILTER (WHERE verdict IN ('unchanged', 'legacy_unchanged'))"
         " AS rows_unchanged,\n"
         "  count(*) FILTER (WHERE verdict = 'legacy_unchanged') AS rows_legacy_hash,\n"
         "  count(*) FILTER (WHERE verdict = 'held') AS rows_held,\n"
         "  count(*) FILTER (WHERE verdict = 'no_consent') AS rows_no_consent,\n"
         "  count(*) FILTER (WHERE verdict = 'out_of_sample') AS rows_out_of_sample,\n"
         "  count(*) FILTER (WHERE verdict = 'null_key') AS null_keys,\n"
         "  " + (key_unique ? std::string("0")
                            : std::string("count(DISTINCT warehouse_id) FILTER (WHERE verdict = "
                                          "'duplicate_key')")) +
         " AS duplicate_keys,\n"
         "  count(*) FILTER (WHERE verdict IN ('null_key', 'duplicate_key')) AS rows_bad_key,\n"
         "  max(ua)::text AS new_cursor,\n"
         "  CASE WHEN count(*) FILTER (WHERE verdict = 'changed') <= " +
         std::to_string(fill_by_keys_max) +
         " THEN (array_agg(k) FILTER (WHERE verdict = 'changed'))::text END AS changed_keys\n"
         "FROM (SELECT verdict, delivered, ua, k" +
         (key_unique ? "" : ", warehouse_id") + " FROM classified OFFSET 0) AS v";
}

// The delivered values of the changed rows as the stream reads them: p0.. from `prev`.
std::string PreviousColumns(const SyncConfig& sync, const std::string& table) {
  std::string out;
  for (size_t i = 0; i < sync.fields.size(); ++i)
    out += ", " + table + "prev ->> " + QuoteLiteral(sync.fields[i].destination_field) + " AS p" +
           std::to_string(i);
  return out;
}

std::string JoinMappings(const Names& n) {
  return "LEFT JOIN " + n.state + ".id_mappings im ON im.destination_system = " + n.destination +
         " AND im.object_type = " + n.object + " AND im.warehouse_id = c.warehouse_id\n";
}

// A few changed rows into bf_delta, with what the stream needs: the hash (computed again
// for these rows only), the destination id and the delivered values; only the rows whose
// key is in $1 (the count's changed_keys; the parameter takes the key's type).
std::string FillByKeys(const SyncConfig& sync, const Names& n, const std::string& classified) {
  const size_t nf = sync.fields.size();
  return "INSERT INTO bf_delta\n" + classified +
         "SELECT c.warehouse_id, c.k, " + RowHash(sync, "c.") + " AS row_hash" +
         ColumnList("c", nf, "c.") +
         ", im.destination_id, c.prev, c.delivered AS previously_delivered\n"
         "FROM classified c\n" + JoinMappings(n) +
         "WHERE c.verdict = 'changed' AND c.k = ANY($1)";
}

// Many changed rows are read straight from the classification, in key order, as the
// stream fetches them (the same snapshot as the count, so the same rows): nothing is
// written aside and sorted before the first batch goes out.
std::string StreamChanged(const SyncConfig& sync, const Names& n, const std::string& classified) {
  const size_t nf = sync.fields.size();
  return classified + "SELECT c.warehouse_id, " + RowHash(sync, "c.") +
         " AS row_hash, im.destination_id, c.delivered AS previously_delivered" +
         ColumnList("c", nf, "c.") + PreviousColumns(sync, "c.") + "\nFROM classified c\n" +
         JoinMappings(n) + "WHERE c.verdict = 'changed'\nORDER BY c.k, c.warehouse_id";
}

}  // namespace

DeltaSql BuildDeltaSql(const SyncConfig& sync, const std::string& destination_system,
                       const std::string& state_schema, const DeltaOptions& options,
                       bool key_unique, const std::optional<std::string>& cursor) {
  const Names n = NamesOf(sync, destination_system, state_schema);
  const size_t nf = sync.fields.size();
  DeltaSql out;
  out.create_temp = "CREATE TEMP TABLE bf_delta ON COMMIT DROP AS\nSELECT " + WarehouseId(n) +
                    " AS warehouse_id, " + n.pk + " AS k, NULL::text AS row_hash" +
                    MappedColumns(sync) +
                    ", NULL::text AS destination_id, NULL::jsonb AS prev,"
                    " false AS previously_delivered\nFROM " + n.model + " AS m WITH NO DATA";
  const std::string classified = Classified(sync, n, options, key_unique, cursor);
  out.count = Count(classified, key_unique, options.fill_by_keys_max);
  out.fill_by_keys = FillByKeys(sync, n, classified);
  out.stream_changed = StreamChanged(sync, n, classified);
  out.count_delivered = "SELECT count(*) FROM (SELECT 1 FROM " + n.state +
                        ".row_state WHERE sync_name = " + n.sync + " LIMIT $1) AS d";
  // An UPDATE on its own: it only changes the form of hashes that still describe the
  // model's row, so it is right whenever it runs, and a row changed meanwhile keeps its
  // old hash (and is sent, like any changed row).
  out.rehash_legacy = "UPDATE " + n.state + ".row_state rs SET row_hash = " +
                      RowHashOf(sync, ModelColumns(sync)) + "\nFROM " + n.model +
                      " AS m\nWHERE rs.sync_name = " + n.sync + " AND rs.warehouse_id = " +
                      WarehouseId(n) + " AND length(rs.row_hash) = 32\n  AND rs.row_hash = " +
                      LegacyRowHashOf(sync, ModelColumns(sync));
  out.stream = "SELECT warehouse_id, row_hash, destination_id, previously_delivered" +
               ColumnList("c", nf) + PreviousColumns(sync, "");
  out.stream += "\nFROM bf_delta ORDER BY k, warehouse_id";
  out.deletes = "SELECT rs.warehouse_id, coalesce(im.destination_id, '') AS destination_id\nFROM " +
                n.state + ".row_state rs\nLEFT JOIN " + n.state +
                ".id_mappings im ON im.destination_system = " + n.destination +
                " AND im.object_type = " + n.object + " AND im.warehouse_id = rs.warehouse_id\n" +
                "WHERE rs.sync_name = " + n.sync + " AND NOT EXISTS (SELECT 1 FROM " + n.model +
                " AS m WHERE " + WarehouseId(n) + " = rs.warehouse_id)\nORDER BY rs.warehouse_id";
  return out;
}

double SampleBucket(const std::string& warehouse_id) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(warehouse_id.data(), warehouse_id.size(), digest, &len, EVP_md5(), nullptr);
  const uint32_t bucket = (static_cast<uint32_t>(digest[0]) << 24) |
                          (static_cast<uint32_t>(digest[1]) << 16) |
                          (static_cast<uint32_t>(digest[2]) << 8) | static_cast<uint32_t>(digest[3]);
  return static_cast<double>(bucket) / kBucketSpace;
}

}  // namespace backflow
