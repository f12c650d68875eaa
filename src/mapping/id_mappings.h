// IdMappings: read-side lookups of the warehouse_id -> destination_id map (spec section
// 3), for plan (what would be created) and mode: update (only records that exist).
//
// Writes happen in state/DeliveryStore::CommitBatch, never here. Mappings whose
// sync_status is 'deleted' (on_delete: delete removed the record) and mappings without a
// destination_id are not returned or counted. Not thread-safe (one PgConnection).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "backflow/status.h"
#include "source/postgres.h"

namespace backflow {

class IdMappings {
 public:
  IdMappings(PgConnection* conn, std::string state_schema)
      : conn_(conn), schema_(std::move(state_schema)) {}

  // warehouse_id -> destination_id for those of `warehouse_ids` that have one; one query
  // whatever the number of ids.
  Result<std::map<std::string, std::string>> Lookup(const std::string& destination_system,
                                                    const std::string& object_type,
                                                    const std::vector<std::string>& warehouse_ids);
  // How many records of that object have a known destination_id.
  Result<long long> Count(const std::string& destination_system, const std::string& object_type);

 private:
  PgConnection* conn_;
  std::string schema_;
};

}  // namespace backflow
