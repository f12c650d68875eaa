#include "destinations/salesforce/request_builder.h"

#include <cmath>
#include <cstdlib>

#include "backflow/config.h"

namespace backflow::salesforce {

nlohmann::json JsonValue(const FieldValue& value) {
  switch (value.kind) {
    case ValueKind::kNull: return nullptr;
    case ValueKind::kBoolean: return value.AsBool();
    case ValueKind::kInteger: {
      errno = 0;
      char* end = nullptr;
      long long n = std::strtoll(value.text.c_str(), &end, 10);
      if (errno == 0 && end != value.text.c_str() && *end == '\0') return n;
      [[fallthrough]];  // out of range for int64: send it as a number all the same
    }
    case ValueKind::kNumber: {
      // Postgres numeric can be longer than a double; a parsed JSON number keeps the
      // text's value as closely as nlohmann can.
      nlohmann::json j = nlohmann::json::parse(value.text, nullptr, /*allow_exceptions=*/false);
      if (j.is_number() && (!j.is_number_float() || std::isfinite(j.get<double>()))) return j;
      return nullptr;  // NaN, Infinity
    }
    case ValueKind::kTimestamp: return value.AsIso8601();
    case ValueKind::kString:
    case ValueKind::kDate:
    case ValueKind::kJson: return value.text;
  }
  return value.text;
}

std::string DataUrl(const SalesforceSettings& settings, const Session& session) {
  return session.instance_url + "/services/data/" + settings.api_version;
}

HttpHeaders DataHeaders(const Session& session, const char* content_type) {
  return {{"Authorization", "Bearer " + session.access_token.Reveal()},
          {"Content-Type", content_type},
          {"Accept", "application/json"}};
}

HttpRequest BuildCollectionWrite(const SalesforceSettings& settings, const Session& session,
                                 const RecordBatch& batch) {
  const SyncConfig& sync = *batch.sync;
  const bool update = sync.mode == SyncMode::kUpdate;
  const std::string external_id = sync.external_id_field.value_or("");

  nlohmann::json records = nlohmann::json::array();
  for (const Record& r : batch.records) {
    nlohmann::json rec = nlohmann::json::object();
    rec["attributes"] = {{"type", sync.object}};
    if (update) rec["Id"] = r.destination_id.value_or("");
    else rec[external_id] = r.warehouse_id;
    for (size_t i = 0; i < batch.fields.size() && i < r.values.size(); ++i) {
      const std::string& f = batch.fields[i];
      // The match key and the record address are backflow's, never a mapped value.
      if (f == "attributes" || f == "Id" || (!update && f == external_id)) continue;
      rec[f] = JsonValue(r.values[i]);
    }
    records.push_back(std::move(rec));
  }

  HttpRequest req;
  req.method = "PATCH";
  req.url = DataUrl(settings, session) + "/composite/sobjects";
  if (!update) req.url += "/" + sync.object + "/" + external_id;
  req.headers = DataHeaders(session);
  req.body = nlohmann::json{{"allOrNone", false}, {"records", std::move(records)}}
                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  req.idempotent = true;
  return req;
}

}  // namespace backflow::salesforce
