// The delta's SQL. bf_delta's columns are named by position (c0.. for the mapped
// columns in field order, p0.. for the previous values) so a column mapped to two
// destination fields, or named like one of ours, cannot collide.
#include <openssl/evp.h>

#include <cmath>
#include <cstdio>
#include <ctime>
#include <string>

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

// md5('Email,Lead_Score__c' || row(m.email, m.score)::text): the row's text form quotes
// empty strings and leaves nulls empty, so null and '' hash differently.
std::string RowHash(const SyncConfig& sync) {
  std::string names, cols;
  for (size_t i = 0; i < sync.fields.size(); ++i) {
    if (i > 0) {
      names += ",";
      cols += ", ";
    }
    names += sync.fields[i].destination_field;
    cols += "m." + QuoteIdent(sync.fields[i].column);
  }
  return "md5(" + QuoteLiteral(names) + " || row(" + cols + ")::text)";
}

std::string FillAndCount(const SyncConfig& sync, const Names& n, const DeltaOptions& options,
                         bool key_unique, const std::optional<std::string>& cursor) {
  const bool by_updated_at =
      sync.strategy == ChangeStrategy::kUpdatedAt && sync.updated_at_column.has_value();
  const std::string ua = by_updated_at ? "m." + QuoteIdent(*sync.updated_at_column) : "";
  const std::string now = options.now ? TimestampLiteral(*options.now) : "now()";
  const size_t nf = sync.fields.size();

  std::string sql = "WITH ";
  std::string cols = n.pk + "::text AS warehouse_id, " + n.pk + " AS k, " + RowHash(sync) +
                     " AS row_hash" + MappedColumns(sync);
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
  // A subquery behind OFFSET 0 is not flattened: the row hash is computed once per row
  // (inlined, the verdict's CASE and the output would each compute it again) and, unlike
  // a MATERIALIZED CTE, the rows are not written aside (a 1M-row model spilled 90 MB).
  sql += "src AS (\n  SELECT * FROM (" + rows + "\n  OFFSET 0) AS o";
  // A key the table enforces cannot repeat; otherwise every row is counted per key.
  sql += key_unique ? "\n),\nkeyed AS (\n  SELECT s.*, 1 AS key_rows FROM src s\n),\n"
                    : "\n),\nkeyed AS (\n  SELECT s.*, count(*) OVER (PARTITION BY s.warehouse_id)"
                      " AS key_rows FROM src s\n),\n";
  // Only what the verdict needs is joined for every row; the changed rows' previous
  // values and destination ids are looked up for them alone (ins, below).
  sql += "classified AS (\n  SELECT k.*, (rs.warehouse_id IS NOT NULL) AS delivered,\n    CASE\n"
         "      WHEN k.warehouse_id IS NULL OR k.key_rows > 1 THEN 'bad_key'\n"
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
    // version supersedes the queued one and is sent at once.
    sql += "      WHEN q.row_hash = k.row_hash AND (q.status = 'dead' OR q.next_attempt_at > " +
           now + ") THEN 'held'\n"
           "      WHEN rs.row_hash IS DISTINCT FROM k.row_hash THEN 'changed'\n"
           "      ELSE 'unchanged'\n";
  }
  sql += "    END AS verdict\n  FROM keyed k\n"
         "  LEFT JOIN " + n.state + ".row_state rs ON rs.sync_name = " + n.sync +
         " AND rs.warehouse_id = k.warehouse_id\n"
         "  LEFT JOIN " + n.state + ".retry_queue q ON q.sync_name = " + n.sync +
         " AND q.warehouse_id = k.warehouse_id\n),\n";
  sql += "ins AS (\n  INSERT INTO bf_delta (warehouse_id, k, row_hash" + ColumnList("c", nf) +
         ", destination_id, prev, previously_delivered)\n  SELECT c.warehouse_id, c.k, c.row_hash" +
         ColumnList("c", nf, "c.") + ", im.destination_id, rs.field_values, c.delivered"
         " FROM classified c\n"
         "  LEFT JOIN " + n.state + ".row_state rs ON rs.sync_name = " + n.sync +
         " AND rs.warehouse_id = c.warehouse_id\n"
         "  LEFT JOIN " + n.state + ".id_mappings im ON im.destination_system = " +
         n.destination + " AND im.object_type = " + n.object +
         " AND im.warehouse_id = c.warehouse_id\n"
         "  WHERE c.verdict = 'changed'\n  RETURNING 1\n)\n";
  sql += "SELECT count(*) AS rows_read,\n"
         "  count(*) FILTER (WHERE verdict = 'changed') AS rows_changed,\n"
         "  count(*) FILTER (WHERE verdict = 'changed' AND delivered) AS rows_changed_delivered,\n"
         "  count(*) FILTER (WHERE verdict = 'unchanged') AS rows_unchanged,\n"
         "  count(*) FILTER (WHERE verdict = 'held') AS rows_held,\n"
         "  count(*) FILTER (WHERE verdict = 'no_consent') AS rows_no_consent,\n"
         "  count(*) FILTER (WHERE verdict = 'out_of_sample') AS rows_out_of_sample,\n"
         "  count(*) FILTER (WHERE warehouse_id IS NULL) AS null_keys,\n"
         "  count(DISTINCT warehouse_id) FILTER (WHERE key_rows > 1) AS duplicate_keys,\n"
         "  count(*) FILTER (WHERE verdict = 'bad_key') AS rows_bad_key,\n"
         "  (SELECT count(*) FROM ins) AS inserted,\n"
         "  max(ua)::text AS new_cursor\n"
         "FROM classified";
  return sql;
}

}  // namespace

DeltaSql BuildDeltaSql(const SyncConfig& sync, const std::string& destination_system,
                       const std::string& state_schema, const DeltaOptions& options,
                       bool key_unique, const std::optional<std::string>& cursor) {
  const Names n = NamesOf(sync, destination_system, state_schema);
  const size_t nf = sync.fields.size();
  DeltaSql out;
  out.create_temp = "CREATE TEMP TABLE bf_delta ON COMMIT DROP AS\nSELECT " + n.pk +
                    "::text AS warehouse_id, " + n.pk + " AS k, NULL::text AS row_hash" +
                    MappedColumns(sync) +
                    ", NULL::text AS destination_id, NULL::jsonb AS prev,"
                    " false AS previously_delivered\nFROM " + n.model + " AS m WITH NO DATA";
  out.fill_and_count = FillAndCount(sync, n, options, key_unique, cursor);
  out.count_delivered =
      "SELECT count(*) FROM " + n.state + ".row_state WHERE sync_name = " + n.sync;
  out.stream = "SELECT warehouse_id, row_hash, destination_id, previously_delivered" +
               ColumnList("c", nf);
  for (size_t i = 0; i < nf; ++i)
    out.stream += ", prev ->> " + QuoteLiteral(sync.fields[i].destination_field) + " AS p" +
                  std::to_string(i);
  out.stream += "\nFROM bf_delta ORDER BY k, warehouse_id";
  out.deletes = "SELECT rs.warehouse_id, coalesce(im.destination_id, '') AS destination_id\nFROM " +
                n.state + ".row_state rs\nLEFT JOIN " + n.state +
                ".id_mappings im ON im.destination_system = " + n.destination +
                " AND im.object_type = " + n.object + " AND im.warehouse_id = rs.warehouse_id\n" +
                "WHERE rs.sync_name = " + n.sync + " AND NOT EXISTS (SELECT 1 FROM " + n.model +
                " AS m WHERE " + n.pk + "::text = rs.warehouse_id)\nORDER BY rs.warehouse_id";
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
