// The state schema (spec section 3), created and upgraded by numbered migrations.
//
// Tables: schema_migrations, meta (installation salt), id_mappings, row_state (the hash and
// values last confirmed per sync and row), sync_cursors (updated_at strategy), sync_runs,
// retry_queue, change_log, rejected_rows, plus the views for dashboards. Migrate takes an
// advisory lock so several daemons starting together apply each migration once.
#pragma once

#include <string>

#include "backflow/status.h"
#include "source/postgres.h"

namespace backflow {

// The newest schema version this binary knows.
int LatestSchemaVersion();

// Creates the schema if needed and applies every migration not yet applied, all in one
// transaction under an advisory lock (a failed upgrade leaves the old version). Idempotent.
[[nodiscard]] Status Migrate(PgConnection& conn, const std::string& state_schema);

// The installation's salt for hashing PII (created by the first migration).
Result<std::string> LoadSalt(PgConnection& conn, const std::string& state_schema);

}  // namespace backflow
