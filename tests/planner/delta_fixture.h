// Shared by the delta tests: a real warehouse with the state schema and a `leads` model.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "planner/delta.h"
#include "state/migrations.h"
#include "support/test_postgres.h"

namespace backflow {

class DeltaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto conn = PgConnection::Open(Secret(db_.dsn()));
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    ASSERT_TRUE(Migrate(**conn, "backflow").ok());
    db_.Exec(
        "CREATE SCHEMA analytics;"
        "CREATE TABLE analytics.leads (id int, email text, score int, consent boolean DEFAULT true,"
        " updated_at timestamptz DEFAULT '2026-01-01 00:00:00+00')");
    sync_.name = "lead_scores";
    sync_.destination = "sfdc";
    sync_.object = "Lead";
    sync_.model_table = "analytics.leads";
    sync_.primary_key = "id";
    sync_.fields = {{"Email", "email"}, {"Score__c", "score"}};
  }

  void AddLeads(int from, int to) {
    db_.Exec("INSERT INTO analytics.leads (id, email, score) SELECT g, 'u' || g || '@x.io', g % 100"
             " FROM generate_series(" + std::to_string(from) + ", " + std::to_string(to) + ") g");
  }

  std::unique_ptr<DeltaReader> Open(const DeltaOptions& options = {}) {
    auto conn = PgConnection::Open(Secret(db_.dsn()));
    EXPECT_TRUE(conn.ok()) << conn.status().ToString();
    if (!conn.ok()) return nullptr;
    auto reader = DeltaReader::Open(std::move(conn).value(), sync_, "sfdc", "backflow", options);
    EXPECT_TRUE(reader.ok()) << reader.status().ToString();
    if (!reader.ok()) return nullptr;
    return std::move(reader).value();
  }

  static std::vector<Record> ReadAll(DeltaReader& reader, size_t page = 100) {
    std::vector<Record> all;
    while (true) {
      std::vector<Record> batch;
      auto more = reader.Next(page, &batch);
      EXPECT_TRUE(more.ok()) << more.status().ToString();
      if (!more.ok() || !*more) {
        EXPECT_TRUE(batch.empty());
        break;
      }
      EXPECT_LE(batch.size(), page);
      all.insert(all.end(), batch.begin(), batch.end());
    }
    return all;
  }

  // What the state store does on a confirmed delivery: row_state with the reported hash
  // and the delivered values (PII through `hash`), plus the id mapping.
  void Deliver(const std::vector<Record>& records, const DeltaReader& reader,
               const std::function<std::string(const std::string&)>& hash = nullptr) {
    for (const Record& r : records) {
      nlohmann::json values = nlohmann::json::object();
      for (size_t i = 0; i < reader.fields().size(); ++i) {
        const FieldValue& v = r.values[i];
        if (v.is_null()) values[reader.fields()[i]] = nullptr;
        else values[reader.fields()[i]] = hash && reader.fields()[i] == "Email" ? hash(v.text) : v.text;
      }
      db_.Exec("INSERT INTO backflow.row_state (sync_name, warehouse_id, row_hash, field_values,"
               " delivered_at) VALUES ('lead_scores', " + QuoteLiteral(r.warehouse_id) + ", " +
               QuoteLiteral(r.row_hash) + ", " + QuoteLiteral(values.dump()) + ", now())"
               " ON CONFLICT (sync_name, warehouse_id) DO UPDATE SET row_hash = EXCLUDED.row_hash,"
               " field_values = EXCLUDED.field_values");
      db_.Exec("INSERT INTO backflow.id_mappings (warehouse_id, destination_system, object_type,"
               " destination_id, sync_status) VALUES (" + QuoteLiteral(r.warehouse_id) +
               ", 'sfdc', 'Lead', " + QuoteLiteral("00Q" + r.warehouse_id) + ", 'success')"
               " ON CONFLICT DO NOTHING");
    }
  }

  void DeliverAll() {
    auto reader = Open();
    ASSERT_TRUE(reader);
    Deliver(ReadAll(*reader), *reader);
  }

  testing::TestDatabase db_;
  SyncConfig sync_;
};

}  // namespace backflow
