// Records: the rows that flow from the warehouse to a destination.
//
// Values keep Postgres's text rendering plus a kind taken from the column's type, so a
// destination can type them the way its API expects (Braze numbers as numbers, HubSpot
// everything as strings) without knowing anything about Postgres.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace backflow {

struct SyncConfig;

enum class ValueKind {
  kNull = 0,
  kString,
  kInteger,    // int2/int4/int8
  kNumber,     // numeric/float4/float8
  kBoolean,    // text is "t" or "f" (Postgres) — use AsBool()
  kTimestamp,  // timestamptz/timestamp; text is ISO-8601 as Postgres renders it
  kDate,
  kJson,       // json/jsonb: text is the JSON document
};

struct FieldValue {
  ValueKind kind = ValueKind::kNull;
  std::string text;  // empty when kind == kNull

  bool is_null() const { return kind == ValueKind::kNull; }
  bool AsBool() const { return text == "t" || text == "true"; }
  // ISO-8601 with 'T' and a zone ("2026-01-02T03:04:05Z") from Postgres' rendering.
  std::string AsIso8601() const;
};

// One changed row of a sync's model, ready to send.
struct Record {
  std::string warehouse_id;                  // the primary key, as text
  std::vector<FieldValue> values;            // parallel to RecordBatch::fields
  std::optional<std::string> destination_id; // from id_mappings, when known
  std::string row_hash;                      // hash of the mapped fields (computed in SQL)
  bool previously_delivered = false;         // a confirmed delivery exists for this sync
  std::vector<std::string> changed_fields;   // destination fields that differ from the last
                                             // confirmed delivery (all, for a new record)
  // The values of the last confirmed delivery, parallel to values (empty when none);
  // PII fields hold their salted hash, never the value.
  std::vector<std::optional<std::string>> previous_values;
};

// A batch of records of one sync, at most the destination's MaxBatchRecords().
struct RecordBatch {
  const SyncConfig* sync = nullptr;          // object, match key, mode; outlives the batch
  std::vector<std::string> fields;           // destination field names, in value order
  std::vector<Record> records;
};

// What became of one record of a batch.
enum class OutcomeKind {
  kDelivered = 0,  // confirmed by the destination
  kRetryable,      // failed, may succeed later (rate limit, transient error)
  kPermanent,      // refused for its content (validation error); dead-lettered after
                   // retry.max_attempts
  kSkipped,        // deliberately not written (mode: update and the record does not exist)
};

const char* OutcomeKindName(OutcomeKind kind);

struct RecordOutcome {
  OutcomeKind kind = OutcomeKind::kDelivered;
  std::string destination_id;  // for kDelivered: Salesforce Id, hs_object_id, external_id
  bool created = false;        // for kDelivered: the destination created the record
  std::string category;        // machine-readable reason: "INVALID_FIELD", "VALIDATION_ERROR"
  std::string reason;          // a person-readable reason, no PII values
};

}  // namespace backflow
