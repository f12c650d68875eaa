// The emulator's sObject Collections writes: upsert by external id, update by Id.
#include <optional>
#include <string_view>
#include <unordered_set>

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

const json* Member(const json& object, const char* key) {
  auto it = object.find(key);  // end() when `object` is not an object
  return it == object.end() ? nullptr : &*it;
}

// The request-level checks shared by both forms; an answer when the body is refused.
std::optional<std::pair<int, json>> CheckCollection(const json& body, bool* all_or_none) {
  const json* records = Member(body, "records");
  if (records == nullptr || !records->is_array())
    return std::make_pair(400, ErrorArray("JSON_PARSER_ERROR",
                                          "The request body must be {\"records\": [...]}"));
  const json* flag = Member(body, "allOrNone");
  if (flag != nullptr && !flag->is_boolean())
    return std::make_pair(400, ErrorArray("JSON_PARSER_ERROR", "allOrNone must be a boolean"));
  *all_or_none = flag != nullptr && flag->get<bool>();
  if (records->size() > kMaxCollectionRecords)
    return std::make_pair(400, ErrorArray("EXCEEDED_ID_LIMIT",
                                          "record limit reached. cannot submit more than 200 "
                                          "records into this call"));
  for (const json& rec : *records) {
    const json* attributes = Member(rec, "attributes");
    const json* type = attributes != nullptr ? Member(*attributes, "type") : nullptr;
    if (type == nullptr || !type->is_string())
      return std::make_pair(400, ErrorArray("INVALID_TYPE", "Must send a concrete entity type."));
  }
  return std::nullopt;
}

const std::string& TypeOf(const json& rec) {
  return rec["attributes"]["type"].get_ref<const std::string&>();
}

// The external id a record gives (a number counts, as its text), or "" when it gives none.
std::string ExternalId(const json& rec, const std::string& ext_field) {
  const json* value = Member(rec, ext_field.c_str());
  if (value == nullptr) return "";
  if (value->is_number()) return value->dump();
  return value->is_string() ? value->get<std::string>() : "";
}

// Answers with JSON text already written: moved into the answer, not copied.
void SendText(httplib::Response& res, int status, std::string text) {
  res.status = status;
  res.body = std::move(text);
  res.headers.erase("Content-Type");
  res.set_header("Content-Type", "application/json;charset=UTF-8");
}

// A record the store took: its answer is written straight to text (it has nothing to escape:
// ids are base62, EmulatorRecordId), as SendJson's dump() would write it.
struct Applied {
  std::string id;
  std::optional<bool> created;  // upserts answer "created"
};

// One result per record, in request order: applied ones from `applied`, the others (and
// only they) from `results`.
std::string CollectionAnswer(const std::vector<std::optional<Applied>>& applied,
                             const std::vector<json>& results) {
  std::string out = "[";
  out.reserve(applied.size() * 80);
  for (size_t i = 0; i < applied.size(); ++i) {
    if (i > 0) out += ',';
    if (!applied[i]) {
      out += results[i].dump(-1, ' ', false, json::error_handler_t::replace);
      continue;
    }
    out += '{';
    if (applied[i]->created)
      out += *applied[i]->created ? R"("created":true,)" : R"("created":false,)";
    out += R"("errors":[],"id":")" + applied[i]->id + R"(","success":true})";
  }
  out += ']';
  return out;
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

// The body is parsed and checked outside mu_ (the server's threads do that side by side);
// the lock covers the session check and the store.
void SalesforceEmulator::HandleUpsert(const httplib::Request& req, httplib::Response& res) {
  const std::string object = req.matches[2];
  const std::string ext_field = req.matches[3];
  std::set<std::string> rejected;  // the object's rejected_fields
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!AdmitDataCall(req, res)) return;
    if (auto it = options_->rejected_fields.find(object); it != options_->rejected_fields.end())
      rejected = it->second;
  }
  json body = json::parse(req.body, nullptr, false);
  bool all_or_none = false;
  if (auto refused = CheckCollection(body, &all_or_none)) {
    SendJson(res, refused->first, refused->second);
    return;
  }
  json& records = body["records"];
  for (const json& rec : records) {
    if (TypeOf(rec) != object) {
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
  std::unordered_set<std::string_view> seen;  // views of ext_values, which never reallocates
  seen.reserve(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    ext_values[i] = ExternalId(records[i], ext_field);
    if (ext_values[i].empty()) {
      results[i] = Failure(Error("MISSING_ARGUMENT", ext_field + " not specified",
                                 json::array({ext_field})));
      continue;
    }
    if (!seen.insert(ext_values[i]).second) {
      results[i] = Failure(Error("DUPLICATE_EXTERNAL_ID",
                                 "Duplicate external id specified: " + ext_field,
                                 json::array({ext_field})));
      continue;
    }
    fields[i] = std::move(records[i]);  // the record is not read again
    fields[i].erase("attributes");
    fields[i].erase(ext_field);
    json error = CheckRecordFields(object, fields[i], &rejected);
    if (!error.is_null()) {
      results[i] = Failure(error);
      continue;
    }
    apply[i] = true;
  }
  ApplyAllOrNone(all_or_none, results, apply);
  std::vector<std::optional<Applied>> applied(records.size());
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = 0; i < records.size(); ++i) {
      if (!apply[i]) continue;
      auto [id, created] = Upsert(object, ext_field, ext_values[i], std::move(fields[i]));
      applied[i] = Applied{std::move(id), created};
    }
  }
  SendText(res, 200, CollectionAnswer(applied, results));
}

void SalesforceEmulator::HandleUpdate(const httplib::Request& req, httplib::Response& res) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!AdmitDataCall(req, res)) return;
  }
  json body = json::parse(req.body, nullptr, false);
  bool all_or_none = false;
  if (auto refused = CheckCollection(body, &all_or_none)) {
    SendJson(res, refused->first, refused->second);
    return;
  }
  const json& records = body["records"];
  std::vector<json> results(records.size());
  std::vector<std::optional<Applied>> applied(records.size());
  {
    // Whether an Id exists is the store's to say: the per-record checks run under the lock.
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<bool> apply(records.size(), false);
    std::vector<json> fields(records.size());
    for (size_t i = 0; i < records.size(); ++i) {
      const json& rec = records[i];
      const json* id = Member(rec, "Id");
      if (id == nullptr || !id->is_string() || id->get_ref<const std::string&>().empty()) {
        results[i] = Failure(
            Error("MISSING_ARGUMENT", "Id not specified in an update call", json::array({"Id"})));
        continue;
      }
      auto object = store_->objects.find(TypeOf(rec));
      if (object == store_->objects.end() ||
          !object->second.by_id.count(id->get_ref<const std::string&>())) {
        results[i] = Failure(Error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id",
                                   json::array({"Id"})));
        continue;
      }
      fields[i] = rec;
      fields[i].erase("attributes");
      fields[i].erase("Id");
      json error = CheckFields(TypeOf(rec), fields[i]);
      if (!error.is_null()) {
        results[i] = Failure(error);
        continue;
      }
      apply[i] = true;
    }
    ApplyAllOrNone(all_or_none, results, apply);
    for (size_t i = 0; i < records.size(); ++i) {
      if (!apply[i]) continue;
      const std::string& id = records[i]["Id"].get_ref<const std::string&>();
      json& stored = store_->objects[TypeOf(records[i])].by_id[id];
      for (auto field = fields[i].begin(); field != fields[i].end(); ++field)
        stored[field.key()] = std::move(field.value());
      applied[i] = Applied{id, std::nullopt};
    }
  }
  SendText(res, 200, CollectionAnswer(applied, results));
}

}  // namespace backflow::salesforce
