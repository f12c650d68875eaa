// The delta: which rows of a sync's model changed since their last confirmed delivery,
// worked out inside Postgres so unchanged rows never leave the database.
//
// strategy: hash     every model row's mapped fields are hashed in SQL and compared with
//                    row_state.row_hash for (sync, warehouse_id).
// strategy: updated_at  only rows with column > cursor - lookback (and rows with a
//                    retry_queue entry, whatever their age) are read, then the same hash
//                    comparison (late rows are caught, re-read rows are not re-sent).
//                    No cursor in sync_cursors: every row is read.
//
// DeltaReader::Open counts every row's verdict first (a query Postgres can run with
// parallel workers), so guards (null/duplicate keys, change share) are decided before
// anything is sent. Next() then streams the changed rows in primary-key order through a
// server-side cursor, in the same repeatable-read snapshot, so memory does not grow with
// the model: a few (fill_by_keys_max) are first found again by their keys into a temporary
// table; more are read straight from the classification as they are fetched.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "backflow/clock.h"
#include "backflow/config.h"
#include "backflow/record.h"
#include "backflow/status.h"
#include "source/postgres.h"

namespace backflow {

struct DeltaSummary;

struct DeltaOptions {
  bool full = false;              // --full: ignore stored hashes and retry holds; every
                                  // (valid, consented, sampled) row is "changed"
  std::optional<double> sample;   // 0..1: only rows whose stable key hash falls below it;
                                  // unset: sync.sample (the standing canary), if any
  bool retry_only = false;        // `retry NAME`: only rows with a due retry_queue entry
  bool retry_all_pending = false; // with retry_only: every pending entry counts as due
  bool with_deletes = false;      // also find delivered rows that left the model
  // "Now" for retry_queue.next_attempt_at (the injected clock); unset: the server's now().
  std::optional<WallTime> now;
  // Fields whose row_state.field_values hold pii_hasher(value) instead of the value, so
  // changed_fields compares hashes. Without a hasher they compare as plain text.
  std::set<std::string> pii_fields;
  std::function<std::string(const std::string&)> pii_hasher;
  // How many of the sync's delivered rows the caller needs counted, given the summary's
  // other counts: previously_delivered stops there (a frequent run that changed a few
  // rows need not read all of a large sync's state to know its guards pass). Unset:
  // counted in full.
  std::function<long long(const DeltaSummary&)> delivered_rows_needed;
  // A delta of at most this many changed rows is found again by its keys (the count
  // returns them; an index probe each in a table model) instead of by classifying every
  // model row a second time.
  long long fill_by_keys_max = 50000;
};

struct DeltaSummary {
  long long rows_read = 0;        // model rows considered (in the window for updated_at)
  long long rows_changed = 0;     // new or changed rows, ready to stream
  long long rows_unchanged = 0;   // rows_read = rows_changed + rows_unchanged + rows_held
                                  //   + rows_no_consent + rows_out_of_sample + rows_bad_key
                                  // (each row counts once, in that order of precedence:
                                  // bad key, no consent, out of sample, held/unchanged).
                                  // retry_only: rows without a due entry are unchanged or,
                                  // with a queue entry, held.
  long long rows_legacy_hash = 0; // of rows_unchanged: state hashed as earlier versions did
                                  // (md5); a sync rewrites them (RewriteLegacyHashes)
  long long rows_held = 0;        // unchanged since a failure, waiting for their retry time
  long long rows_no_consent = 0;  // excluded by consent_column
  long long rows_out_of_sample = 0;
  long long null_keys = 0;        // rows whose primary key is null (the run must block)
  long long duplicate_keys = 0;   // primary-key values that occur more than once (block)
  long long previously_delivered = 0;  // rows with a confirmed delivery for this sync; only
                                       // counted when rows changed or left the model (the
                                       // guards' denominator), else 0; at most
                                       // options.delivered_rows_needed (exact below it)
  long long rows_changed_delivered = 0;  // changed rows that were delivered before (updates):
                                         // the numerator of max_change_share
  long long rows_deleted = 0;     // with_deletes: delivered rows no longer in the model
  long long rows_bad_key = 0;     // rows with a null or duplicated key (never streamed)
  std::optional<std::string> new_cursor;  // updated_at: max(column) seen, to store on success
};

// Pure: the SQL statements Open() runs, for tests and for `plan --explain`.
struct DeltaSql {
  std::string create_temp;   // CREATE TEMP TABLE bf_delta ... (no data)
  std::string count;         // SELECT ...: one row, the DeltaSummary columns
  std::string fill_by_keys;  // INSERT INTO bf_delta the changed rows whose key is in $1
  std::string stream;        // SELECT ... FROM bf_delta ORDER BY k: a few changed rows
  std::string stream_changed;  // SELECT the changed rows from the classification, ORDER
                               // BY k, with the columns of `stream`: many changed rows
  std::string deletes;       // with_deletes: SELECT warehouse_id, destination_id of left rows
  std::string count_delivered;  // SELECT count(*) of the sync's row_state, LIMIT $1 rows
  std::string rehash_legacy;    // UPDATE row_state: earlier versions' hashes that still
                                // match the model's row, in the current form
};
// key_unique: the model is a table with a unique index on exactly the primary key, so no
// key can occur twice and the duplicate-key count (a sort of every row) is skipped.
// cursor: updated_at, the stored sync_cursors.cursor (none yet: every row is read).
DeltaSql BuildDeltaSql(const SyncConfig& sync, const std::string& destination_system,
                       const std::string& state_schema, const DeltaOptions& options,
                       bool key_unique = false,
                       const std::optional<std::string>& cursor = std::nullopt);

class DeltaReader {
 public:
  // Takes its own connection (it holds a transaction open for the cursor; the temp
  // tables go with it when the reader is destroyed). In one repeatable-read snapshot,
  // runs count, then create_temp and fill_by_keys (a few changed rows or none) or declares
  // the cursor over stream_changed, and, with_deletes, materialises `deletes` before
  // returning, so summary() is final and describes exactly the rows streamed.
  // REQUIRES: Migrate() has run on state_schema; sync.fields is not empty.
  // kInvalidArgument when the model's SQL is wrong, kUnavailable when the warehouse
  // cannot be reached, kFailed for other SQL errors.
  static Result<std::unique_ptr<DeltaReader>> Open(std::unique_ptr<PgConnection> conn,
                                                   const SyncConfig& sync,
                                                   const std::string& destination_system,
                                                   const std::string& state_schema,
                                                   const DeltaOptions& options);
  virtual ~DeltaReader() = default;

  virtual const DeltaSummary& summary() const = 0;
  // The destination field names, in the order of Record::values.
  virtual const std::vector<std::string>& fields() const = 0;
  // Appends up to `max` changed records (primary-key order) to *out; returns false, with
  // nothing appended, once the delta is exhausted. Records carry destination_id and
  // previous_values from state.
  virtual Result<bool> Next(size_t max, std::vector<Record>* out) = 0;
  // Rewinds to the first changed record (a second pass, e.g. after contract counting).
  virtual Status Rewind() = 0;
  // with_deletes: up to `max` (warehouse_id, destination_id) of rows that left the model,
  // in warehouse_id order; destination_id is "" when unknown. false, with nothing
  // appended, once exhausted (at once without with_deletes).
  virtual Result<bool> NextDeleted(size_t max,
                                   std::vector<std::pair<std::string, std::string>>* out) = 0;
};

// Runs BuildDeltaSql(...).rehash_legacy in a transaction of its own on `conn` (a state
// connection): the sync's rows whose stored hash is still an earlier version's and still
// matches the model get the current hash, so later deltas compare them once. Returns the
// rows rewritten. Not for `plan`, which writes nothing.
Result<long long> RewriteLegacyHashes(PgConnection& conn, const SyncConfig& sync,
                                      const std::string& destination_system,
                                      const std::string& state_schema);

// The stable sample bucket of a primary key, in [0,1): the same in SQL and C++.
double SampleBucket(const std::string& warehouse_id);

}  // namespace backflow
