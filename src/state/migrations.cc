#include "state/migrations.h"

#include <string>
#include <vector>

namespace backflow {
namespace {

// Each migration is SQL with {s} standing for the quoted state schema. Never edit a
// released migration; add a new one.
const std::vector<std::string>& Migrations() {
  static const std::vector<std::string> kMigrations = {
      // 1: the spec's tables and the per-sync state the diff needs.
      R"SQL(
CREATE TABLE IF NOT EXISTS {s}.meta (
  key   text PRIMARY KEY,
  value text NOT NULL
);
INSERT INTO {s}.meta (key, value)
  VALUES ('pii_salt', encode(sha256((random()::text || clock_timestamp()::text || pg_backend_pid()::text)::bytea), 'hex'))
  ON CONFLICT (key) DO NOTHING;

CREATE TABLE {s}.id_mappings (
  warehouse_id       text NOT NULL,
  destination_system text NOT NULL,
  object_type        text NOT NULL,
  destination_id     text,
  sync_status        text NOT NULL DEFAULT 'pending'
                     CHECK (sync_status IN ('success', 'failed', 'pending', 'deleted')),
  last_synced_at     timestamptz,
  updated_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (destination_system, object_type, warehouse_id)
);
CREATE UNIQUE INDEX id_mappings_destination_id
  ON {s}.id_mappings (destination_system, object_type, destination_id)
  WHERE destination_id IS NOT NULL;

-- What was last confirmed per sync and row: the diff compares against row_hash.
-- field_values holds the delivered values (PII fields as salted hashes) for plan's
-- old -> new view and change_log's changed_fields.
CREATE TABLE {s}.row_state (
  sync_name    text NOT NULL,
  warehouse_id text NOT NULL,
  row_hash     text NOT NULL,
  field_values jsonb NOT NULL DEFAULT '{}',
  delivered_at timestamptz NOT NULL,
  run_id       bigint,
  PRIMARY KEY (sync_name, warehouse_id)
);

CREATE TABLE {s}.sync_cursors (
  sync_name  text PRIMARY KEY,
  cursor     text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE {s}.sync_runs (
  run_id         bigserial PRIMARY KEY,
  sync_name      text NOT NULL,
  destination    text NOT NULL,
  kind           text NOT NULL DEFAULT 'sync' CHECK (kind IN ('sync', 'plan', 'retry')),
  started_at     timestamptz NOT NULL DEFAULT now(),
  finished_at    timestamptz,
  status         text NOT NULL DEFAULT 'running'
                 CHECK (status IN ('running', 'succeeded', 'partial', 'failed', 'blocked', 'planned')),
  rows_read      bigint NOT NULL DEFAULT 0,
  rows_changed   bigint NOT NULL DEFAULT 0,
  rows_attempted bigint NOT NULL DEFAULT 0,
  rows_succeeded bigint NOT NULL DEFAULT 0,
  rows_failed    bigint NOT NULL DEFAULT 0,
  rows_rejected  bigint NOT NULL DEFAULT 0,
  rows_skipped   bigint NOT NULL DEFAULT 0,
  rows_deleted   bigint NOT NULL DEFAULT 0,
  api_requests   bigint NOT NULL DEFAULT 0,
  error_summary  jsonb NOT NULL DEFAULT '{}',
  message        text,
  forced         boolean NOT NULL DEFAULT false,
  host           text
);
CREATE INDEX sync_runs_by_sync ON {s}.sync_runs (sync_name, started_at DESC);

CREATE TABLE {s}.retry_queue (
  sync_name       text NOT NULL,
  warehouse_id    text NOT NULL,
  destination     text NOT NULL,
  row_hash        text NOT NULL,
  attempts        integer NOT NULL DEFAULT 1,
  next_attempt_at timestamptz NOT NULL,
  last_error      text,
  error_category  text,
  payload         jsonb NOT NULL DEFAULT '{}',
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'dead')),
  first_failed_at timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  last_run_id     bigint,
  PRIMARY KEY (sync_name, warehouse_id)
);
CREATE INDEX retry_queue_due ON {s}.retry_queue (sync_name, status, next_attempt_at);

CREATE TABLE {s}.change_log (
  id             bigserial PRIMARY KEY,
  run_id         bigint NOT NULL,
  sync_name      text NOT NULL,
  destination    text NOT NULL,
  warehouse_id   text NOT NULL,
  destination_id text,
  operation      text NOT NULL CHECK (operation IN ('create', 'update', 'delete')),
  changed_fields text[] NOT NULL DEFAULT '{}',
  field_values   jsonb NOT NULL DEFAULT '{}',
  sent_at        timestamptz NOT NULL DEFAULT now(),
  planned        boolean NOT NULL DEFAULT false
);
CREATE INDEX change_log_by_run ON {s}.change_log (run_id);
CREATE INDEX change_log_by_record ON {s}.change_log (sync_name, warehouse_id, sent_at DESC);

-- Rows that broke the contract, with every reason; kept for the data team.
CREATE TABLE {s}.rejected_rows (
  id           bigserial PRIMARY KEY,
  run_id       bigint NOT NULL,
  sync_name    text NOT NULL,
  warehouse_id text,
  reasons      jsonb NOT NULL,
  rejected_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rejected_rows_by_run ON {s}.rejected_rows (run_id);
)SQL",
      // 2: views for teams building dashboards on Postgres (days are UTC days).
      R"SQL(
CREATE VIEW {s}.v_runs_daily AS
SELECT (r.started_at AT TIME ZONE 'UTC')::date AS day,
       r.sync_name,
       r.destination,
       count(*) AS runs,
       count(*) FILTER (WHERE r.status = 'succeeded') AS succeeded_runs,
       round(count(*) FILTER (WHERE r.status = 'succeeded')::numeric / count(*), 4) AS success_rate,
       sum(r.rows_attempted)::bigint AS rows_attempted,
       sum(r.rows_succeeded)::bigint AS rows_succeeded,
       sum(r.rows_failed)::bigint AS rows_failed,
       sum(r.rows_rejected)::bigint AS rows_rejected,
       round(sum(r.rows_succeeded)::numeric / nullif(sum(r.rows_attempted), 0), 4) AS row_success_rate
FROM {s}.sync_runs r
WHERE r.kind <> 'plan'
GROUP BY 1, 2, 3;
COMMENT ON VIEW {s}.v_runs_daily IS
  'Runs per UTC day, sync and destination (plans excluded). success_rate = succeeded runs / runs; row_success_rate = rows_succeeded / rows_attempted.';

CREATE VIEW {s}.v_failure_reasons AS
SELECT r.sync_name,
       r.destination,
       e.key AS reason,
       sum(CASE WHEN jsonb_typeof(e.value) = 'number' THEN (e.value #>> '{}')::numeric ELSE 1 END)::bigint AS count,
       max(coalesce(r.finished_at, r.started_at)) AS last_seen
FROM {s}.sync_runs r
CROSS JOIN LATERAL jsonb_each(r.error_summary) AS e
WHERE r.kind <> 'plan' AND r.started_at > now() - interval '7 days'
  AND jsonb_typeof(r.error_summary) = 'object'
GROUP BY 1, 2, 3;
COMMENT ON VIEW {s}.v_failure_reasons IS
  'Why records failed in the runs (not plans) of the last 7 days, summed from sync_runs.error_summary.';

CREATE VIEW {s}.v_change_log AS
SELECT c.id,
       c.run_id,
       c.destination,
       c.sync_name,
       r.kind AS run_kind,
       c.warehouse_id,
       c.destination_id,
       c.operation,
       c.changed_fields,
       c.sent_at,
       c.planned
FROM {s}.change_log c
LEFT JOIN {s}.sync_runs r ON r.run_id = c.run_id;
COMMENT ON VIEW {s}.v_change_log IS
  'The audit trail without values: what was (or, planned, would be) sent, by whom and when.';

CREATE VIEW {s}.v_retry_queue AS
SELECT q.sync_name,
       q.destination,
       q.status,
       count(*) AS count,
       min(q.first_failed_at) AS oldest,
       min(q.next_attempt_at) FILTER (WHERE q.status = 'pending') AS next_due,
       count(*) FILTER (WHERE q.status = 'pending' AND q.next_attempt_at <= now()) AS due_now
FROM {s}.retry_queue q
GROUP BY 1, 2, 3;
COMMENT ON VIEW {s}.v_retry_queue IS
  'Retry-queue depth per sync and status, with the oldest failure and the next due attempt.';
)SQL",
      // 3: bulk jobs handed to a destination, so a stopped daemon resumes polling them
      // instead of uploading their rows again (state/bulk_jobs.h).
      R"SQL(
CREATE TABLE {s}.bulk_jobs (
  job_id        text PRIMARY KEY,
  sync_name     text NOT NULL,
  destination   text NOT NULL,
  state         text NOT NULL,
  warehouse_ids text[] NOT NULL DEFAULT '{}',
  fields        jsonb NOT NULL DEFAULT '[]',
  records       jsonb NOT NULL DEFAULT '[]',
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  finished      boolean NOT NULL DEFAULT false
);
CREATE INDEX bulk_jobs_unfinished ON {s}.bulk_jobs (sync_name, destination, created_at)
  WHERE NOT finished;
COMMENT ON TABLE {s}.bulk_jobs IS
  'Bulk API jobs whose upload completed; unfinished ones are polled to their end by the next run of the sync. records holds what the upload carried, PII values removed.';
)SQL",
      // 4: id_mappings' unique keys lead with the per-record column. Every commit upserts
      // thousands of mappings; with the two columns that are the same for a whole sync
      // first, each btree comparison went through three text columns (a 5,000-row upsert
      // into 1M mappings: 44 ms -> 33 ms). Still unique on the same column sets.
      R"SQL(
ALTER TABLE {s}.id_mappings DROP CONSTRAINT id_mappings_pkey;
ALTER TABLE {s}.id_mappings ADD CONSTRAINT id_mappings_pkey
  PRIMARY KEY (warehouse_id, destination_system, object_type);
DROP INDEX {s}.id_mappings_destination_id;
CREATE UNIQUE INDEX id_mappings_destination_id
  ON {s}.id_mappings (destination_id, destination_system, object_type)
  WHERE destination_id IS NOT NULL;
)SQL",
      // 5: change_log's indexes suit an append-only log that every delivered record adds
      // to. Its run index is a BRIN: a run's rows are written together, so a summary per
      // block range finds them, where a btree took an entry per row of a key shared by the
      // whole run. A record's history is looked up by warehouse_id alone (with or without
      // its sync) through a hash index; the btree led by sync_name could not serve the
      // lookup without it and cost twice as much per row. Inserting 500k log rows: run
      // index +0.55 s -> +0.18 s, record index +1.05 s -> +0.42 s.
      R"SQL(
DROP INDEX {s}.change_log_by_run;
CREATE INDEX change_log_by_run ON {s}.change_log USING brin (run_id);
DROP INDEX {s}.change_log_by_record;
CREATE INDEX change_log_by_record ON {s}.change_log USING hash (warehouse_id);
)SQL",
      // 6: row_state and id_mappings leave a tenth of each page free. A run that changes a
      // few rows updates their state and mappings in place, on the same page and without
      // new index entries (a HOT update), where a full page moved each new version
      // elsewhere and indexed it again.
      R"SQL(
ALTER TABLE {s}.row_state SET (fillfactor = 90);
ALTER TABLE {s}.id_mappings SET (fillfactor = 90);
)SQL",
      // 7: the keys of row_state and id_mappings compare bytewise (COLLATE "C"). Every
      // delivered row inserts into three of their btrees, and under a linguistic collation
      // each comparison copied both strings for strcoll (1M-row sync: 22.7-25.4 -> 20.9-22.1
      // s of Postgres CPU). Ids have no linguistic order; the indexes are rebuilt, the
      // tables are not rewritten.
      R"SQL(
ALTER TABLE {s}.row_state
  ALTER COLUMN sync_name TYPE text COLLATE "C",
  ALTER COLUMN warehouse_id TYPE text COLLATE "C";
ALTER TABLE {s}.id_mappings
  ALTER COLUMN warehouse_id TYPE text COLLATE "C",
  ALTER COLUMN destination_system TYPE text COLLATE "C",
  ALTER COLUMN object_type TYPE text COLLATE "C",
  ALTER COLUMN destination_id TYPE text COLLATE "C";
)SQL",
  };
  return kMigrations;
}

std::string Expand(const std::string& sql, const std::string& schema) {
  std::string out;
  const std::string quoted = QuoteIdent(schema);
  for (size_t i = 0; i < sql.size(); ++i) {
    if (sql.compare(i, 3, "{s}") == 0) {
      out += quoted;
      i += 2;
    } else {
      out += sql[i];
    }
  }
  return out;
}

}  // namespace

int LatestSchemaVersion() { return static_cast<int>(Migrations().size()); }

Status Migrate(PgConnection& conn, const std::string& state_schema) {
  const std::string s = QuoteIdent(state_schema);
  // One migrator at a time across every daemon on this warehouse.
  return conn.InTransaction("migrate the state schema", [&](pqxx::work& tx) {
    tx.exec("SELECT pg_advisory_xact_lock(hashtext(" + QuoteLiteral("backflow-migrate:" + state_schema) + "))");
    tx.exec("CREATE SCHEMA IF NOT EXISTS " + s);
    tx.exec("CREATE TABLE IF NOT EXISTS " + s +
            ".schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())");
    pqxx::result r = tx.exec("SELECT coalesce(max(version), 0) FROM " + s + ".schema_migrations");
    int current = r[0][0].as<int>();
    const auto& all = Migrations();
    for (int v = current + 1; v <= static_cast<int>(all.size()); ++v) {
      tx.exec(Expand(all[v - 1], state_schema));
      tx.exec("INSERT INTO " + s + ".schema_migrations (version) VALUES (" + std::to_string(v) + ")");
    }
  });
}

Result<std::string> LoadSalt(PgConnection& conn, const std::string& state_schema) {
  std::string salt;
  Status st = conn.NonTransaction("load the PII salt", [&](pqxx::nontransaction& tx) {
    pqxx::result r = tx.exec("SELECT value FROM " + QuoteIdent(state_schema) +
                             ".meta WHERE key = 'pii_salt'");
    if (!r.empty()) salt = r[0][0].c_str();
  });
  if (!st.ok()) return st;
  if (salt.empty()) return Status::Failed("the state schema has no PII salt; run `backflow migrate`");
  return salt;
}

}  // namespace backflow
