#include "mapping/id_mappings.h"

#include "state/sql_util.h"

namespace backflow {

namespace {
const char* const kKnown = " AND destination_id IS NOT NULL AND sync_status <> 'deleted'";
}  // namespace

Result<std::map<std::string, std::string>> IdMappings::Lookup(
    const std::string& destination_system, const std::string& object_type,
    const std::vector<std::string>& warehouse_ids) {
  std::map<std::string, std::string> out;
  if (warehouse_ids.empty()) return out;
  Status st = conn_->NonTransaction("look up destination ids", [&](pqxx::nontransaction& tx) {
    pqxx::result r = tx.exec_params(
        "SELECT warehouse_id, destination_id FROM " + QuoteIdent(schema_) +
            ".id_mappings WHERE destination_system = $1 AND object_type = $2 "
            "AND warehouse_id = ANY($3::text[])" + kKnown,
        destination_system, object_type, sql::TextArray(warehouse_ids));
    for (const auto& row : r) out[row[0].c_str()] = row[1].c_str();
  });
  if (!st.ok()) return st;
  return out;
}

Result<long long> IdMappings::Count(const std::string& destination_system,
                                    const std::string& object_type) {
  long long n = 0;
  Status st = conn_->NonTransaction("count destination ids", [&](pqxx::nontransaction& tx) {
    n = tx.exec_params1("SELECT count(*) FROM " + QuoteIdent(schema_) +
                            ".id_mappings WHERE destination_system = $1 AND object_type = $2" +
                            kKnown,
                        destination_system, object_type)[0]
            .as<long long>();
  });
  if (!st.ok()) return st;
  return n;
}

}  // namespace backflow
