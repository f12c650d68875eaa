// Shared setup for the state tests: a fresh database with the state schema migrated,
// and a small sync/destination configuration to commit batches for.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "backflow/config.h"
#include "backflow/record.h"
#include "source/postgres.h"
#include "state/delivery_store.h"
#include "state/migrations.h"
#include "support/test_postgres.h"

namespace backflow::testing {

inline const char* const kSchema = "bf_state";

class StateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto conn = PgConnection::Open(Secret(db_.dsn()));
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    conn_ = std::move(conn).value();
    Status st = Migrate(*conn_, kSchema);
    ASSERT_TRUE(st.ok()) << st.ToString();

    dest_.name = "sfdc";
    dest_.type = "salesforce";
    dest_.retry.max_attempts = 3;
    dest_.retry.initial_backoff = Millis(1000);
    dest_.retry.max_backoff = Millis(3000);
    sync_.name = "lead_scores";
    sync_.destination = "sfdc";
    sync_.object = "Lead";
    ContractConfig contract;
    contract.fields["Email"].pii = true;
    sync_.contract = contract;
    fields_ = {"Email", "Score"};

    auto store = DeliveryStore::Open(conn_.get(), kSchema);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }

  static Record MakeRecord(const std::string& wid, const std::string& email,
                           const std::string& score, const std::string& hash,
                           bool previously_delivered = false) {
    Record r;
    r.warehouse_id = wid;
    r.values = {FieldValue{ValueKind::kString, email}, FieldValue{ValueKind::kInteger, score}};
    r.row_hash = hash;
    r.previously_delivered = previously_delivered;
    r.changed_fields = {"Email", "Score"};
    return r;
  }
  static RecordOutcome Delivered(const std::string& id, bool created = false) {
    RecordOutcome o;
    o.kind = OutcomeKind::kDelivered;
    o.destination_id = id;
    o.created = created;
    return o;
  }
  static RecordOutcome Failed(OutcomeKind kind, const std::string& category,
                              const std::string& reason) {
    RecordOutcome o;
    o.kind = kind;
    o.category = category;
    o.reason = reason;
    return o;
  }

  Result<CommitTotals> Commit(const std::vector<Record>& records,
                              const std::vector<RecordOutcome>& outcomes, long long run_id,
                              WallTime now, bool dry_run = false) {
    BatchCommit b;
    b.run_id = run_id;
    b.sync = &sync_;
    b.destination = &dest_;
    b.fields = &fields_;
    b.records = &records;
    b.outcomes = &outcomes;
    b.now = now;
    b.dry_run = dry_run;
    return store_->CommitBatch(b);
  }

  std::string Q(const std::string& sql) const { return db_.Scalar(sql); }
  long long N(const std::string& sql) const { return db_.Count(sql); }

  TestDatabase db_;
  std::unique_ptr<PgConnection> conn_;
  std::unique_ptr<DeliveryStore> store_;
  DestinationConfig dest_;
  SyncConfig sync_;
  std::vector<std::string> fields_;
};

// 2026-03-01 12:00:00 UTC.
inline WallTime FixedNow() { return WallTime(std::chrono::seconds(1772366400)); }

}  // namespace backflow::testing
