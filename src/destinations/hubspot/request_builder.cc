#include "destinations/hubspot/request_builder.h"

#include <nlohmann/json.hpp>

#include "backflow/config.h"

namespace backflow::hubspot {

std::string WireValue(const FieldValue& value) {
  switch (value.kind) {
    case ValueKind::kNull: return "";
    case ValueKind::kBoolean: return value.AsBool() ? "true" : "false";
    case ValueKind::kTimestamp: return value.AsIso8601();
    // Postgres renders dates as YYYY-MM-DD already (DateStyle ISO); drop anything after.
    case ValueKind::kDate: return value.text.substr(0, 10);
    case ValueKind::kString:
    case ValueKind::kInteger:
    case ValueKind::kNumber:
    case ValueKind::kJson: return value.text;
  }
  return value.text;
}

HttpRequest BuildBatchWrite(const HubSpotSettings& settings, const RecordBatch& batch) {
  const SyncConfig& sync = *batch.sync;
  const bool update = sync.mode == SyncMode::kUpdate;
  nlohmann::json inputs = nlohmann::json::array();
  for (const Record& record : batch.records) {
    nlohmann::json properties = nlohmann::json::object();
    for (size_t i = 0; i < batch.fields.size() && i < record.values.size(); ++i)
      properties[batch.fields[i]] = WireValue(record.values[i]);
    nlohmann::json input;
    if (update) {
      input["id"] = record.destination_id.value_or("");
    } else {
      // The id property holds the warehouse id. Sending it among the properties too
      // makes HubSpot echo it in results[].properties, which is how answers are matched
      // back to inputs (results are not in request order).
      const std::string id_property = sync.id_property.value_or("");
      input["id"] = record.warehouse_id;
      input["idProperty"] = id_property;
      if (!id_property.empty()) properties[id_property] = record.warehouse_id;
    }
    input["properties"] = std::move(properties);
    inputs.push_back(std::move(input));
  }
  HttpRequest request;
  request.method = "POST";
  request.url = settings.base_url + "/crm/v3/objects/" + sync.object +
                (update ? "/batch/update" : "/batch/upsert");
  request.headers = {{"Authorization", "Bearer " + settings.token.Reveal()},
                     {"Content-Type", "application/json"},
                     {"Accept", "application/json"}};
  request.body = nlohmann::json{{"inputs", std::move(inputs)}}.dump();
  request.idempotent = true;
  return request;
}

}  // namespace backflow::hubspot
