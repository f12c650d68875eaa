#include "destinations/braze/request_builder.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "backflow/config.h"

namespace backflow {
namespace {

HttpRequest JsonPost(const BrazeSettings& settings, const std::string& path,
                     const nlohmann::json& body) {
  HttpRequest r;
  r.method = "POST";
  r.url = settings.base_url + path;
  r.headers = {{"Authorization", "Bearer " + settings.api_key.Reveal()},
               {"Content-Type", "application/json"},
               {"Accept", "application/json"}};
  r.body = body.dump();
  // Setting attributes to the same values twice, or deleting a user twice, changes nothing.
  r.idempotent = true;
  return r;
}

}  // namespace

nlohmann::json BrazeAttributeValue(const FieldValue& value) {
  switch (value.kind) {
    case ValueKind::kNull:
      return nullptr;
    case ValueKind::kString:
      return value.text;
    case ValueKind::kInteger: {
      long long n = 0;
      const char* end = value.text.data() + value.text.size();
      auto [p, ec] = std::from_chars(value.text.data(), end, n);
      if (ec == std::errc() && p == end) return n;
      break;  // out of range for int64: fall through to a number
    }
    case ValueKind::kNumber:
      break;
    case ValueKind::kBoolean:
      return value.AsBool();
    case ValueKind::kTimestamp:
      return value.AsIso8601();
    case ValueKind::kDate:
      return value.text;
    case ValueKind::kJson: {
      auto j = nlohmann::json::parse(value.text, nullptr, /*allow_exceptions=*/false);
      // A document Postgres accepted always parses; keep the text if it somehow does not.
      return j.is_discarded() ? nlohmann::json(value.text) : j;
    }
  }
  // Numbers: NaN and Infinity (valid in Postgres numeric/float) have no JSON form; sending
  // the text keeps the value visible in Braze rather than silently unsetting it.
  char* end = nullptr;
  double d = std::strtod(value.text.c_str(), &end);
  if (end != value.text.c_str() && *end == '\0' && std::isfinite(d)) return d;
  return value.text;
}

HttpRequest BuildBrazeTrack(const BrazeSettings& settings, const RecordBatch& batch) {
  const bool update_only = batch.sync != nullptr && batch.sync->mode == SyncMode::kUpdate;
  nlohmann::json attributes = nlohmann::json::array();
  for (const Record& record : batch.records) {
    nlohmann::json object = nlohmann::json::object();
    for (size_t i = 0; i < batch.fields.size() && i < record.values.size(); ++i)
      object[batch.fields[i]] = BrazeAttributeValue(record.values[i]);
    // Written last so a mapped field can never replace the identifier.
    object["external_id"] = record.warehouse_id;
    if (update_only) object["_update_existing_only"] = true;
    attributes.push_back(std::move(object));
  }
  return JsonPost(settings, "/users/track", {{"attributes", std::move(attributes)}});
}

HttpRequest BuildBrazeDelete(const BrazeSettings& settings,
                             const std::vector<std::string>& external_ids) {
  return JsonPost(settings, "/users/delete", {{"external_ids", external_ids}});
}

}  // namespace backflow
