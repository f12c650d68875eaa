// The Braze emulator's /users/track and /users/delete semantics (see emulator.h).
#include <optional>
#include <set>

#include "destinations/braze/emulator.h"

namespace backflow::braze {
namespace {

using nlohmann::json;

constexpr size_t kMaxObjects = 75;
constexpr size_t kMaxDeleteIds = 50;

const std::set<std::string>& StandardAttributes() {
  static const std::set<std::string> kNames = {
      "first_name", "last_name",       "email",         "phone", "country",
      "city",       "home_city",       "gender",        "dob",   "language",
      "time_zone",  "email_subscribe", "push_subscribe"};
  return kNames;
}

struct Identified {
  std::string key;    // the users_ key
  std::string field;  // the identifying field ("external_id", "email", ...)
  std::string error;  // non-empty when the object cannot be identified
};

Identified Identify(const json& object) {
  Identified id;
  int strong = 0;
  for (const char* f : {"external_id", "braze_id", "user_alias"})
    if (object.contains(f)) {
      ++strong;
      id.field = f;
    }
  if (strong > 1) {
    id.error = "only one of 'external_id', 'braze_id' or 'user_alias' may identify a user";
    return id;
  }
  if (strong == 0) {
    if (object.contains("email"))
      id.field = "email";
    else if (object.contains("phone"))
      id.field = "phone";
    else {
      id.error = "'external_id', 'braze_id', 'user_alias', 'email' or 'phone' is required";
      return id;
    }
  }
  const json& v = object[id.field];
  if (id.field == "user_alias") {
    if (!v.is_object() || !v.contains("alias_name") || !v.contains("alias_label") ||
        !v["alias_name"].is_string() || !v["alias_label"].is_string()) {
      id.error = "'user_alias' must have string 'alias_name' and 'alias_label'";
      return id;
    }
    id.key = "user_alias:" + v["alias_label"].get<std::string>() + ":" +
             v["alias_name"].get<std::string>();
    return id;
  }
  if (!v.is_string() || v.get<std::string>().empty()) {
    id.error = "'" + id.field + "' must be a non-empty string";
    return id;
  }
  id.key = id.field == "external_id" ? v.get<std::string>() : id.field + ":" + v.get<std::string>();
  return id;
}

// Why an attribute cannot be stored, or nullopt.
std::optional<std::string> CheckAttribute(const std::string& name, const json& value) {
  if (name.rfind("invalid_", 0) == 0) return "invalid attribute name '" + name + "'";
  if (value.is_string() && value.get<std::string>() == "__reject__")
    return "invalid value for attribute '" + name + "'";
  if ((value.is_object() || value.is_array()) && StandardAttributes().count(name))
    return "invalid value for standard attribute '" + name + "': expected a scalar";
  if (value.is_array())
    for (const json& e : value)
      if (e.is_object() || e.is_array())
        return "invalid value for array attribute '" + name + "': elements must be scalars";
  return std::nullopt;
}

json Error(const std::string& type, const char* array, size_t index) {
  return {{"type", type}, {"input_array", array}, {"index", index}};
}

}  // namespace

BrazeEmulator::Answer BrazeEmulator::Track(const json& body) {
  static const char* kArrays[] = {"attributes", "events", "purchases"};
  size_t total = 0;
  for (const char* a : kArrays) {
    if (!body.contains(a)) continue;
    if (!body[a].is_array())
      return {400, {{"message", std::string("'") + a + "' must be an array"}}};
    const size_t n = body[a].size();
    total += n;
    if (legacy_limits_ && n > kMaxObjects)
      return {
          400,
          {{"message", "Max Input Length Exceeded"},
           {"errors",
            {std::string("at most 75 objects per array: '") + a + "' has " + std::to_string(n)}}}};
  }
  if (!legacy_limits_ && total > kMaxObjects)
    return {400,
            {{"message", "Max Input Length Exceeded"},
             {"errors", {"at most 75 objects per request, got " + std::to_string(total)}}}};

  json errors = json::array();
  long long processed = 0;
  if (body.contains("attributes")) {
    const json& attributes = body["attributes"];
    for (size_t i = 0; i < attributes.size(); ++i) {
      const json& object = attributes[i];
      if (!object.is_object()) {
        errors.push_back(Error("attributes object must be a JSON object", "attributes", i));
        continue;
      }
      Identified id = Identify(object);
      if (!id.error.empty()) {
        errors.push_back(Error(id.error, "attributes", i));
        continue;
      }
      bool update_only = false;
      std::optional<std::string> problem;
      for (const auto& [name, value] : object.items()) {
        if (name == id.field) continue;
        if (name == "_update_existing_only") {
          if (!value.is_boolean())
            problem = "'_update_existing_only' must be a boolean";
          else
            update_only = value.get<bool>();
          continue;
        }
        if (!problem) problem = CheckAttribute(name, value);
      }
      if (!problem && update_only && !users_.count(id.key))
        problem = "user not found: '_update_existing_only' is true";
      if (problem) {
        errors.push_back(Error(*problem, "attributes", i));
        continue;
      }
      json& profile = users_[id.key];
      if (!profile.is_object()) profile = json::object();
      for (const auto& [name, value] : object.items()) {
        if (name == "_update_existing_only" ||
            (name == id.field && name != "email" && name != "phone"))
          continue;
        if (value.is_null())
          profile.erase(name);
        else
          profile[name] = value;
      }
      ++processed;
    }
  }
  // Events and purchases are not stored; they count towards the limit and need a user.
  long long events = 0, purchases = 0;
  for (const char* a : {"events", "purchases"}) {
    if (!body.contains(a)) continue;
    for (size_t i = 0; i < body[a].size(); ++i) {
      const json& object = body[a][i];
      Identified id =
          object.is_object() ? Identify(object) : Identified{"", "", "must be an object"};
      if (!id.error.empty())
        errors.push_back(Error(id.error, a, i));
      else
        ++(std::string(a) == "events" ? events : purchases);
    }
  }
  json answer = {{"message", "success"}};
  if (body.contains("attributes")) answer["attributes_processed"] = processed;
  if (body.contains("events")) answer["events_processed"] = events;
  if (body.contains("purchases")) answer["purchases_processed"] = purchases;
  if (!errors.empty()) answer["errors"] = std::move(errors);
  return {201, std::move(answer)};
}

BrazeEmulator::Answer BrazeEmulator::Delete(const json& body) {
  if (!body.contains("external_ids") || !body["external_ids"].is_array())
    return {400, {{"message", "'external_ids' must be an array of strings"}}};
  const json& ids = body["external_ids"];
  if (ids.size() > kMaxDeleteIds)
    return {
        400,
        {{"message", "Max Input Length Exceeded"},
         {"errors", {"at most 50 external_ids per request, got " + std::to_string(ids.size())}}}};
  for (const json& id : ids)
    if (!id.is_string()) return {400, {{"message", "'external_ids' must be an array of strings"}}};
  long long deleted = 0;
  for (const json& id : ids) deleted += static_cast<long long>(users_.erase(id.get<std::string>()));
  return {201, {{"deleted", deleted}, {"message", "success"}}};
}

}  // namespace backflow::braze
