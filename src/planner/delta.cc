#include "planner/delta.h"

#include <algorithm>
#include <exception>
#include <future>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "source/model.h"

namespace backflow {
namespace {

constexpr const char* kDeltaCursor = "bf_delta_cur";
constexpr const char* kDeletedCursor = "bf_deleted_cur";
// Columns of DeltaSql::stream before the mapped values.
constexpr size_t kFixedColumns = 4;

long long AsCount(const pqxx::field& f) { return f.is_null() ? 0 : f.as<long long>(); }

class PgDeltaReader final : public DeltaReader {
 public:
  PgDeltaReader(std::unique_ptr<PgConnection> conn, const SyncConfig& sync, DeltaOptions options,
                DeltaSql sql)
      : conn_(std::move(conn)), sync_name_(sync.name), options_(std::move(options)),
        sql_(std::move(sql)) {
    for (const auto& f : sync.fields) fields_.push_back(f.destination_field);
  }
  ~PgDeltaReader() override {
    try {
      SettleAhead();
      tx_.reset();  // aborts: the temp tables and cursors go with the transaction
    } catch (...) {
    }
  }

  Status Start() {
    try {
      // Repeatable read: the counts (which the guards judge) and the rows streamed come
      // from one snapshot of the model.
      tx_ = std::make_unique<Transaction>(conn_->raw());
      // The delta joins every model row with its state rows: room to sort and hash them
      // in memory (the default 4 MB spills a 100k-row model to disk). This transaction only.
      tx_->exec("SET LOCAL work_mem = '64MB'");
      tx_->exec("DROP TABLE IF EXISTS pg_temp.bf_delta, pg_temp.bf_deleted");
      // The counts are a plain query Postgres may run in parallel (a statement that
      // writes, as one filling a table while it counts, never is); the changed rows are
      // read afterwards only when there are any, so an unchanged model is read once. The
      // rows a worker hands on are narrow (verdicts): a tenth of the default cost per row
      // handed on lets the planner use the workers.
      tx_->exec("SET LOCAL parallel_tuple_cost = 0.01");
      // The state tables a delta probes are read on every run and stay cached. At the
      // default cost of a random page (4, a disk seek), once the model's statistics put
      // an updated_at window of 10,000 rows at its real size, the planner joined it with
      // all of a 1M-row state by hashing the state (0.36 s) instead of probing the state
      // index per row (0.08 s). A whole-model hash delta still hashes (0.7-0.9 s either way).
      tx_->exec("SET LOCAL random_page_cost = 1.1");
      // The delta's expressions are cheap to interpret; compiling them cost each parallel
      // worker of each pass about 0.1 s (a 1%-changed 1M-row hash run: 3.4 s -> 3.2 s).
      tx_->exec("SET LOCAL jit = off");
      const pqxx::row row = tx_->exec(sql_.count)[0];
      summary_.rows_read = AsCount(row["rows_read"]);
      summary_.rows_changed = AsCount(row["rows_changed"]);
      summary_.rows_changed_delivered = AsCount(row["rows_changed_delivered"]);
      summary_.rows_unchanged = AsCount(row["rows_unchanged"]);
      summary_.rows_legacy_hash = AsCount(row["rows_legacy_hash"]);
      summary_.rows_held = AsCount(row["rows_held"]);
      summary_.rows_no_consent = AsCount(row["rows_no_consent"]);
      summary_.rows_out_of_sample = AsCount(row["rows_out_of_sample"]);
      summary_.null_keys = AsCount(row["null_keys"]);
      summary_.duplicate_keys = AsCount(row["duplicate_keys"]);
      summary_.rows_bad_key = AsCount(row["rows_bad_key"]);
      if (!row["new_cursor"].is_null()) summary_.new_cursor = row["new_cursor"].c_str();
      if (summary_.rows_changed > 0 && row["changed_keys"].is_null()) {
        // Many changed rows: the cursor reads them from the model as they are fetched
        // (a full sync starts sending at once, and no copy of the model is written and
        // sorted first).
        stream_direct_ = true;
      } else {
        // A few, found again by their keys (which the count returned), or none.
        tx_->exec(sql_.create_temp);
        if (summary_.rows_changed > 0)
          tx_->exec_params(sql_.fill_by_keys, std::string(row["changed_keys"].c_str()));
      }
      if (options_.with_deletes) {
        pqxx::result d =
            tx_->exec("CREATE TEMP TABLE bf_deleted ON COMMIT DROP AS " + sql_.deletes);
        summary_.rows_deleted = static_cast<long long>(d.affected_rows());
      }
      // The guards' denominator, a scan of the sync's state: a run with nothing to send
      // or delete (the common case for a frequent schedule) does not need it.
      if (summary_.rows_changed > 0 || summary_.rows_deleted > 0) {
        const long long needed = options_.delivered_rows_needed
                                     ? options_.delivered_rows_needed(summary_)
                                     : std::numeric_limits<long long>::max();
        summary_.previously_delivered =
            AsCount(tx_->exec_params(sql_.count_delivered, needed)[0][0]);
      }
    } catch (...) {
      return ModelError(StatusFromPgException("work out the delta of sync " + sync_name_));
    }
    BF_RETURN_IF_ERROR(DeclareCursors());
    return Status::Ok();
  }

  const DeltaSummary& summary() const override { return summary_; }
  const std::vector<std::string>& fields() const override { return fields_; }

  // Pages come from the cursor one FETCH ahead of the caller: while it sends one page,
  // the next is read (for a large delta that FETCH runs the classification of those
  // rows), so the sender does not wait for the warehouse between pages. A FETCH is in
  // flight only between calls; every other use of the transaction waits for it first.
  Result<bool> Next(size_t max, std::vector<Record>* out) override {
    if (max == 0) return false;
    try {
      if (page_at_ == page_.size()) {
        SettleAhead();
        if (ahead_error_) std::rethrow_exception(std::exchange(ahead_error_, nullptr));
        if (ahead_ready_) {
          page_ = std::move(*ahead_ready_);
          ahead_ready_.reset();
        } else if (!delta_done_) {
          page_ = Fetch(max);
        } else {
          page_ = pqxx::result();
        }
        page_at_ = 0;
      }
      if (page_at_ == page_.size()) return false;
      const size_t end = std::min(page_.size(), page_at_ + max);
      AppendRecords(page_, page_at_, end, out);
      page_at_ = end;
      if (page_at_ == page_.size() && !delta_done_)
        ahead_ = std::async(std::launch::async, [this, max] { return Fetch(max); });
      return true;
    } catch (...) {
      return StatusFromPgException("read the delta of sync " + sync_name_);
    }
  }

  Status Rewind() override {
    SettleAhead();
    ahead_ready_.reset();
    ahead_error_ = nullptr;
    page_ = pqxx::result();
    page_at_ = 0;
    try {
      tx_->exec(std::string("CLOSE ") + kDeltaCursor);
    } catch (...) {
      return StatusFromPgException("rewind the delta of sync " + sync_name_);
    }
    delta_done_ = false;
    return DeclareDeltaCursor();
  }

  Result<bool> NextDeleted(size_t max,
                           std::vector<std::pair<std::string, std::string>>* out) override {
    if (!options_.with_deletes || deleted_done_ || max == 0) return false;
    SettleAhead();  // the transaction is one caller's at a time
    try {
      pqxx::result r =
          tx_->exec("FETCH FORWARD " + std::to_string(max) + " FROM " + kDeletedCursor);
      if (r.size() < max) deleted_done_ = true;
      if (r.empty()) return false;
      for (const auto& row : r) out->emplace_back(row[0].c_str(), row[1].c_str());
      return true;
    } catch (...) {
      return StatusFromPgException("read the deleted rows of sync " + sync_name_);
    }
  }

 private:
  // Errors in the model's own SQL are the user's to fix.
  static Status ModelError(Status st) {
    if (st.code() == StatusCode::kFailed && st.message().find("SQLSTATE 42") != std::string::npos)
      return Status::InvalidArgument(st.message());
    return st;
  }

  Status DeclareDeltaCursor() {
    try {
      tx_->exec(std::string("DECLARE ") + kDeltaCursor + " NO SCROLL CURSOR FOR " +
                (stream_direct_ ? sql_.stream_changed : sql_.stream));
      return Status::Ok();
    } catch (...) {
      return StatusFromPgException("open the delta of sync " + sync_name_);
    }
  }

  Status DeclareCursors() {
    BF_RETURN_IF_ERROR(DeclareDeltaCursor());
    if (!options_.with_deletes) return Status::Ok();
    try {
      tx_->exec(std::string("DECLARE ") + kDeletedCursor +
                " NO SCROLL CURSOR FOR SELECT warehouse_id, destination_id FROM bf_deleted"
                " ORDER BY warehouse_id");
      return Status::Ok();
    } catch (...) {
      return StatusFromPgException("open the deleted rows of sync " + sync_name_);
    }
  }

  std::string Comparable(size_t field, const std::string& text) const {
    if (options_.pii_hasher && options_.pii_fields.count(fields_[field]))
      return options_.pii_hasher(text);
    return text;
  }

  // One FETCH of up to `max` delta rows; the last one (fewer rows) ends the delta.
  pqxx::result Fetch(size_t max) {
    pqxx::result r = tx_->exec("FETCH FORWARD " + std::to_string(max) + " FROM " + kDeltaCursor);
    if (r.size() < max) delta_done_ = true;
    return r;
  }

  // Waits for the FETCH ahead, if any, keeping its page (or its error) for Next().
  void SettleAhead() {
    if (!ahead_.valid()) return;
    try {
      ahead_ready_ = ahead_.get();
    } catch (...) {
      ahead_error_ = std::current_exception();
    }
  }

  // Rows [from, to) of `r`.
  void AppendRecords(const pqxx::result& r, size_t from, size_t to,
                     std::vector<Record>* out) const {
    const size_t nf = fields_.size();
    std::vector<ValueKind> kinds(nf);
    for (size_t i = 0; i < nf; ++i)
      kinds[i] = KindFromTypeOid(static_cast<unsigned int>(r.column_type(
          static_cast<pqxx::row::size_type>(kFixedColumns + i))));
    out->reserve(out->size() + (to - from));
    for (size_t n = from; n < to; ++n) {
      const pqxx::row row = r[static_cast<pqxx::result::size_type>(n)];
      Record rec;
      rec.warehouse_id = row[0].c_str();
      rec.row_hash = row[1].c_str();
      if (!row[2].is_null() && row[2].size() > 0) rec.destination_id = row[2].c_str();
      rec.previously_delivered = !row[3].is_null() && row[3].c_str()[0] == 't';
      rec.values.resize(nf);
      for (size_t i = 0; i < nf; ++i) {
        const pqxx::field f = row[static_cast<pqxx::row::size_type>(kFixedColumns + i)];
        if (!f.is_null()) rec.values[i] = FieldValue{kinds[i], f.c_str()};
      }
      if (!rec.previously_delivered) {
        rec.changed_fields = fields_;
      } else {
        rec.previous_values.resize(nf);
        for (size_t i = 0; i < nf; ++i) {
          const pqxx::field p = row[static_cast<pqxx::row::size_type>(kFixedColumns + nf + i)];
          if (!p.is_null()) rec.previous_values[i] = p.c_str();
          std::optional<std::string> now;
          if (!rec.values[i].is_null()) now = Comparable(i, rec.values[i].text);
          if (now != rec.previous_values[i]) rec.changed_fields.push_back(fields_[i]);
        }
      }
      out->push_back(std::move(rec));
    }
  }

  std::unique_ptr<PgConnection> conn_;
  using Transaction = pqxx::transaction<pqxx::isolation_level::repeatable_read>;
  std::unique_ptr<Transaction> tx_;  // destroyed before conn_
  std::string sync_name_;
  DeltaOptions options_;
  DeltaSql sql_;
  bool stream_direct_ = false;  // the cursor reads stream_changed, not bf_delta
  std::vector<std::string> fields_;
  DeltaSummary summary_;
  bool delta_done_ = false;  // the cursor has returned its last row
  pqxx::result page_;        // fetched, handed out up to page_at_
  size_t page_at_ = 0;
  std::future<pqxx::result> ahead_;           // the FETCH of the next page, in flight
  std::optional<pqxx::result> ahead_ready_;   // its page, once settled
  std::exception_ptr ahead_error_;            // or its error
  bool deleted_done_ = false;
};

// updated_at: the cursor the last successful run stored, if any.
Result<std::optional<std::string>> StoredCursor(PgConnection& conn, const SyncConfig& sync,
                                                const std::string& state_schema) {
  std::optional<std::string> cursor;
  if (sync.strategy != ChangeStrategy::kUpdatedAt || !sync.updated_at_column) return cursor;
  Status st = conn.NonTransaction("read the cursor of sync " + sync.name,
                                  [&](pqxx::nontransaction& tx) {
    pqxx::result r = tx.exec_params("SELECT cursor FROM " + QuoteIdent(state_schema) +
                                        ".sync_cursors WHERE sync_name = $1",
                                    sync.name);
    if (!r.empty() && !r[0][0].is_null()) cursor = r[0][0].c_str();
  });
  if (!st.ok()) return st;
  return cursor;
}

// Whether the model is a table with a unique, unconditional index on exactly the primary
// key column. Anything else (a SQL model, a view, no such index, no catalog access):
// false, and the delta counts duplicate keys itself.
bool KeyIsUnique(PgConnection& conn, const SyncConfig& sync) {
  if (!sync.model_table) return false;
  try {
    pqxx::nontransaction tx(conn.raw());
    pqxx::row r = tx.exec_params1(
        "SELECT EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a "
        "ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
        "WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indnkeyatts = 1 "
        "AND i.indpred IS NULL AND i.indexprs IS NULL AND a.attname = $2)",
        sync.ModelRelation(), sync.primary_key);
    return r[0].as<bool>();
  } catch (...) {
    return false;
  }
}

}  // namespace

Result<std::unique_ptr<DeltaReader>> DeltaReader::Open(std::unique_ptr<PgConnection> conn,
                                                       const SyncConfig& sync,
                                                       const std::string& destination_system,
                                                       const std::string& state_schema,
                                                       const DeltaOptions& options) {
  if (conn == nullptr) return Status::Internal("DeltaReader::Open: no connection");
  if (sync.fields.empty())
    return Status::InvalidConfig("syncs." + sync.name + ".fields: no fields are mapped");
  if (sync.primary_key.empty())
    return Status::InvalidConfig("syncs." + sync.name + ".primary_key: not set");
  Result<std::optional<std::string>> cursor = StoredCursor(*conn, sync, state_schema);
  if (!cursor.ok()) return cursor.status();
  DeltaSql sql = BuildDeltaSql(sync, destination_system, state_schema, options,
                               KeyIsUnique(*conn, sync), *cursor);
  auto reader = std::make_unique<PgDeltaReader>(std::move(conn), sync, options, std::move(sql));
  BF_RETURN_IF_ERROR(reader->Start());
  return std::unique_ptr<DeltaReader>(std::move(reader));
}

Result<long long> RewriteLegacyHashes(PgConnection& conn, const SyncConfig& sync,
                                      const std::string& destination_system,
                                      const std::string& state_schema) {
  const std::string sql =
      BuildDeltaSql(sync, destination_system, state_schema, DeltaOptions{}).rehash_legacy;
  long long rewritten = 0;
  Status st = conn.InTransaction("rewrite the stored row hashes of sync " + sync.name,
                                 [&](pqxx::work& tx) {
                                   rewritten = static_cast<long long>(tx.exec(sql).affected_rows());
                                 });
  if (!st.ok()) return st;
  return rewritten;
}

}  // namespace backflow
