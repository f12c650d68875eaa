// Builders shared by the HubSpot tests.
#pragma once

#include <string>
#include <vector>

#include "backflow/config.h"
#include "backflow/record.h"

namespace backflow::hubspot::testing {

inline SyncConfig ContactsSync(SyncMode mode = SyncMode::kUpsert) {
  SyncConfig sync;
  sync.name = "contacts_sync";
  sync.destination = "hubspot";
  sync.object = "contacts";
  sync.primary_key = "user_id";
  sync.id_property = "warehouse_id";
  sync.mode = mode;
  return sync;
}

inline FieldValue Str(std::string s) { return {ValueKind::kString, std::move(s)}; }
inline FieldValue Int(std::string s) { return {ValueKind::kInteger, std::move(s)}; }
inline FieldValue Null() { return {}; }

// A batch of `n` records user_1..user_n with fields lead_score and email.
inline RecordBatch Batch(const SyncConfig& sync, int n) {
  RecordBatch batch;
  batch.sync = &sync;
  batch.fields = {"lead_score", "email"};
  for (int i = 1; i <= n; ++i) {
    Record r;
    r.warehouse_id = "user_" + std::to_string(i);
    r.values = {Int(std::to_string(10 * i)), Str("u" + std::to_string(i) + "@example.com")};
    batch.records.push_back(std::move(r));
  }
  return batch;
}

}  // namespace backflow::hubspot::testing
