// Run-level guards: decided from the delta's counts before anything is sent, so a broken
// upstream model can never overwrite or wipe a CRM (spec section 5; Census/Hightouch's
// "sync safeguards", made default-on).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "backflow/config.h"
#include "planner/contract.h"
#include "planner/delta.h"
#include "source/postgres.h"

namespace backflow {

// Why the delta must not be sent (null/duplicate keys, max_change_share,
// max_delete_share), or nullopt.
std::optional<std::string> GuardDelta(const SyncConfig& sync, const DeltaSummary& summary);

// How many of the rows already delivered GuardDelta needs counted to decide on
// `summary`: with at least this many, no share it checks can exceed its maximum, and
// below it the count is exact (so is any message that quotes it).
long long DeliveredRowsNeeded(const SyncConfig& sync, const DeltaSummary& summary);

// Why `rejected` rows out of the run's changed rows exceed contract.max_invalid.
std::optional<std::string> GuardRejections(const SyncConfig& sync, const DeltaSummary& summary,
                                           long long rejected);

// Pass one over the delta: checks every changed record against the contract, records each
// rejected row with all its reasons in rejected_rows (set-based, per page), adds
// "contract:<field>:<rule>" counts to *error_summary, and returns how many were rejected.
// The caller rewinds the reader afterwards.
Result<long long> CountRejections(DeltaReader& reader, const ContractValidator& validator,
                                  PgConnection& conn, const std::string& state_schema,
                                  long long run_id, const std::string& sync_name,
                                  std::map<std::string, long long>* error_summary);

}  // namespace backflow
