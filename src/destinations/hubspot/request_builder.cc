#include "destinations/hubspot/request_builder.h"

#include "backflow/config.h"
#include "backflow/json_text.h"

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
  // The id property holds the warehouse id. Sending it among the properties too makes
  // HubSpot echo it in results[].properties, which is how answers are matched back to
  // inputs (results are not in request order). A field mapped to it is sent once.
  const std::string id_property = update ? "" : sync.id_property.value_or("");
  // Written directly: a JSON document per record cost an allocation per property.
  std::string body = "{\"inputs\":[";
  body.reserve(64 + batch.records.size() * 48 * (batch.fields.size() + 2));
  for (size_t r = 0; r < batch.records.size(); ++r) {
    const Record& record = batch.records[r];
    if (r > 0) body += ',';
    body += "{\"id\":";
    if (update) {
      AppendJsonString(&body, record.destination_id.value_or(""));
    } else {
      AppendJsonString(&body, record.warehouse_id);
      body += ",\"idProperty\":";
      AppendJsonString(&body, id_property);
    }
    body += ",\"properties\":{";
    bool first = true;
    for (size_t i = 0; i < batch.fields.size() && i < record.values.size(); ++i) {
      if (!id_property.empty() && batch.fields[i] == id_property) continue;
      if (!first) body += ',';
      first = false;
      AppendJsonString(&body, batch.fields[i]);
      body += ':';
      AppendJsonString(&body, WireValue(record.values[i]));
    }
    if (!id_property.empty()) {
      if (!first) body += ',';
      AppendJsonString(&body, id_property);
      body += ':';
      AppendJsonString(&body, record.warehouse_id);
    }
    body += "}}";
  }
  body += "]}";
  HttpRequest request;
  request.method = "POST";
  request.url = settings.base_url + "/crm/v3/objects/" + sync.object +
                (update ? "/batch/update" : "/batch/upsert");
  request.headers = {{"Authorization", "Bearer " + settings.token.Reveal()},
                     {"Content-Type", "application/json"},
                     {"Accept", "application/json"}};
  request.body = std::move(body);
  request.idempotent = true;
  return request;
}

}  // namespace backflow::hubspot
