// The emulator's sObject Collections writes: upsert by external id, update by Id.
#include "destinations/salesforce/emulator.h"
#include "destinations/salesforce/emulator_state.h"

namespace backflow::salesforce {

using nlohmann::json;

namespace {

constexpr size_t kMaxCollectionRecords = 200;
constexpr const char* kRolledBack = "ALL_OR_NONE_OPERATION_ROLLED_BACK";

json Failure(const json& error) {
  return {{"id", nullptr}, {"success", false}, {"errors", json::array({error})}};
}

json Error(const std::string& code, const std::string& message, json fields = json::array()) {
  return {{"statusCode", code}, {"message", message}, {"fields", std::move(fields)}};
}

// The request-level checks shared by both forms; an answer when the body is refused.
std::optional<std::pair<int, json>> CheckCollection(const json& body, bool* all_or_none) {
  if (!body.is_object() || !body.contains("records") || !body["records"].is_array())
    return std::make_pair(400, ErrorArray("JSON_PARSER_ERROR",
                                          "The request body must be {\"records\": [...]}"));
  if (body.contains("allOrNone") && !body["allOrNone"].is_boolean())
    return std::make_pair(400, ErrorArray("JSON_PARSER_ERROR", "allOrNone must be a boolean"));
  *all_or_none = body.value("allOrNone", false);
  if (body["records"].size() > kMaxCollectionRecords)
    return std::make_pair(400, ErrorArray("EXCEEDED_ID_LIMIT",
                                          "record limit reached. cannot submit more than 200 "
                                          "records into this call"));
  for (const json& rec : body["records"]) {
    if (!rec.is_object() || !rec.contains("attributes") || !rec["attributes"].is_object() ||
        !rec["attributes"].contains("type") || !rec["attributes"]["type"].is_string())
      return std::make_pair(400, ErrorArray("INVALID_TYPE", "Must send a concrete entity type."));
  }
  return std::nullopt;
}

// Rolls back every success when allOrNone is set and something failed.
void ApplyAllOrNone(bool all_or_none, std::vector<json>& results, std::vector<bool>& apply) {
  if (!all_or_none) return;
  bool any_failed = false;
  for (bool a : apply) any_failed = any_failed || !a;
  if (!any_failed) return;
  for (size_t i = 0; i < apply.size(); ++i) {
    if (!apply[i]) continue;
    apply[i] = false;
    results[i] = Failure(Error(kRolledBack,
                               "Record rolled back because not all records were valid and the "
                               "request was using AllOrNone header"));
  }
}

}  // namespace

void SalesforceEmulator::HandleUpsert(const httplib::Request& req, httplib::Response& res) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!AdmitDataCall(req, res)) return;
  const std::string object = req.matches[2];
  const std::string ext_field = req.matches[3];
  json body = json::parse(req.body, nullptr, false);
  bool all_or_none = false;
  if (auto refused = CheckCollection(body, &all_or_none)) {
    SendJson(res, refused->first, refused->second);
    return;
  }
  const json& records = body["records"];
  for (const json& rec : records) {
    if (rec["attributes"]["type"].get<std::string>() != object) {
      SendJson(res, 400, ErrorArray("INVALID_TYPE", "Every record must be of type " + object +
                                                        ", the sObject of the URI"));
      return;
    }
    if (rec.contains("Id")) {
      SendJson(res, 400, ErrorArray("INVALID_FIELD",
                                    "Id cannot be given when upserting by an external id"));
      return;
    }
  }

  std::vector<json> results(records.size());
  std::vector<bool> apply(records.size(), false);
  std::vector<std::string> ext_values(records.size());
  std::vector<json> fields(records.size());
  std::set<std::string> seen;
  for (size_t i = 0; i < records.size(); ++i) {
    const json& rec = records[i];
    json value = rec.value(ext_field, json());
    if (value.is_number()) value = value.dump();
    if (!value.is_string() || value.get<std::string>().empty()) {
      results[i] = Failure(Error("MISSING_ARGUMENT", ext_field + " not specified",
                                 json::array({ext_field})));
      continue;
    }
    ext_values[i] = value.get<std::string>();
    if (!seen.insert(ext_values[i]).second) {
      results[i] = Failure(Error("DUPLICATE_EXTERNAL_ID",
                                 "Duplicate external id specified: " + ext_field,
                                 json::array({ext_field})));
      continue;
    }
    fields[i] = rec;
    fields[i].erase("attributes");
    fields[i].erase(ext_field);
    json error = CheckFields(object, fields[i]);
    if (!error.is_null()) {
      results[i] = Failure(error);
      continue;
    }
    apply[i] = true;
  }
  ApplyAllOrNone(all_or_none, results, apply);
  json out = json::array();
  for (size_t i = 0; i < records.size(); ++i) {
    if (apply[i]) {
      auto [id, created] = Upsert(object, ext_field, ext_values[i], fields[i]);
      results[i] = {{"id", id}, {"success", true}, {"created", created}, {"errors", json::array()}};
    }
    out.push_back(std::move(results[i]));
  }
  SendJson(res, 200, out);
}

void SalesforceEmulator::HandleUpdate(const httplib::Request& req, httplib::Response& res) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!AdmitDataCall(req, res)) return;
  json body = json::parse(req.body, nullptr, false);
  bool all_or_none = false;
  if (auto refused = CheckCollection(body, &all_or_none)) {
    SendJson(res, refused->first, refused->second);
    return;
  }
  const json& records = body["records"];
  std::vector<json> results(records.size());
  std::vector<bool> apply(records.size(), false);
  std::vector<json> fields(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    const json& rec = records[i];
    const std::string type = rec["attributes"]["type"].get<std::string>();
    json id = rec.value("Id", json());
    if (!id.is_string() || id.get<std::string>().empty()) {
      results[i] = Failure(Error("MISSING_ARGUMENT", "Id not specified in an update call",
                                 json::array({"Id"})));
      continue;
    }
    auto object = store_->objects.find(type);
    if (object == store_->objects.end() || !object->second.by_id.count(id.get<std::string>())) {
      results[i] = Failure(Error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id",
                                 json::array({"Id"})));
      continue;
    }
    fields[i] = rec;
    fields[i].erase("attributes");
    fields[i].erase("Id");
    json error = CheckFields(type, fields[i]);
    if (!error.is_null()) {
      results[i] = Failure(error);
      continue;
    }
    apply[i] = true;
  }
  ApplyAllOrNone(all_or_none, results, apply);
  json out = json::array();
  for (size_t i = 0; i < records.size(); ++i) {
    if (apply[i]) {
      const std::string type = records[i]["attributes"]["type"].get<std::string>();
      const std::string id = records[i]["Id"].get<std::string>();
      json& stored = store_->objects[type].by_id[id];
      for (const auto& [name, value] : fields[i].items()) stored[name] = value;
      results[i] = {{"id", id}, {"success", true}, {"errors", json::array()}};
    }
    out.push_back(std::move(results[i]));
  }
  SendJson(res, 200, out);
}

}  // namespace backflow::salesforce
