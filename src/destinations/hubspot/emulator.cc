#include "destinations/hubspot/emulator.h"

#include <cstdio>
#include <ctime>
#include <set>
#include <stdexcept>

namespace backflow::hubspot {
namespace {

using nlohmann::json;

// The emulator's reported per-window maximum while its own limit is off: large enough
// that header-driven clients never slow down for it.
constexpr long long kUnthrottledMax = 1000000;
constexpr long long kNominalIntervalMs = 10000;

void SendJson(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json;charset=utf-8");
}

json ErrorBody(const std::string& message, const std::string& category,
               const std::string& correlation, const json& context = nullptr) {
  json e = {{"status", "error"}, {"message", message}, {"correlationId", correlation},
            {"category", category}};
  if (!context.is_null()) e["context"] = context;
  return e;
}

json InputError(const std::string& category, const std::string& message, const std::string& id,
                const std::string& property = "") {
  json context = {{"ids", json::array({id})}};
  if (!property.empty()) context["propertyName"] = json::array({property});
  return {{"status", "error"}, {"category", category}, {"message", message},
          {"context", context}};
}

// Why one input's properties are refused, or "" when they are fine; `out` gets them.
std::string CheckProperties(const json& input, std::map<std::string, std::string>* out,
                            std::string* property) {
  if (!input.contains("properties")) return "";
  const json& props = input["properties"];
  if (!props.is_object()) return "properties must be an object";
  for (const auto& [name, value] : props.items()) {
    *property = name;
    if (!value.is_string())
      return "Property values were not valid: the value of \"" + name + "\" must be a string";
    if (name.rfind("invalid_", 0) == 0)
      return "Property values were not valid: property \"" + name + "\" does not exist";
    if (value.get<std::string>().find("__reject__") != std::string::npos)
      return "Property values were not valid: \"" + name + "\" has an invalid value";
    (*out)[name] = value.get<std::string>();
  }
  property->clear();
  return "";
}

}  // namespace

HubSpotEmulator::HubSpotEmulator(Clock* clock) : clock_(clock ? clock : Clock::Real()) {}

void HubSpotEmulator::Configure(const json& options) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!options.is_object()) throw std::invalid_argument("hubspot options must be an object");
  for (const auto& [key, value] : options.items()) {
    if (key == "token") {
      token_ = value.get<std::string>();
    } else if (key == "rate_limit") {
      if (value.is_null()) {
        rate_limit_.reset();
        continue;
      }
      long long requests = value.at("requests").get<long long>();
      long long interval = value.value("interval_ms", kNominalIntervalMs);
      if (requests <= 0 || interval <= 0)
        throw std::invalid_argument("hubspot.rate_limit needs requests > 0 and interval_ms > 0");
      rate_limit_ = std::make_pair(requests, Millis(interval));
    } else if (key == "daily_limit") {
      daily_limit_ = value.get<long long>();
    } else if (key == "unique_properties") {
      for (const auto& [type, props] : value.items())
        store_.SetUniqueProperties(type, props.get<std::set<std::string>>());
    } else {
      throw std::invalid_argument("unknown hubspot option " + key);
    }
  }
}

void HubSpotEmulator::Register(httplib::Server& server, sandbox::Sandbox& sandbox) {
  server.Post(R"(/crm/v3/objects/([^/]+)/batch/upsert)",
              sandbox.Wrap(name(), true, [this](const httplib::Request& req,
                                                httplib::Response& res) { HandleUpsert(req, res); }));
  server.Post(R"(/crm/v3/objects/([^/]+)/batch/update)",
              sandbox.Wrap(name(), true, [this](const httplib::Request& req,
                                                httplib::Response& res) { HandleUpdate(req, res); }));
  server.Get(R"(/crm/v3/objects/([^/]+)/([^/]+))",
             sandbox.Wrap(name(), false, [this](const httplib::Request& req,
                                                httplib::Response& res) { HandleGet(req, res); }));
}

std::string HubSpotEmulator::NowIso() const {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                clock_->WallNow().time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[40];
  std::snprintf(out, sizeof out, "%s.%03lldZ", buf, static_cast<long long>(ms % 1000));
  return out;
}

void HubSpotEmulator::SetLimitHeaders(httplib::Response& res, bool exhausted) const {
  const long long max = rate_limit_ ? rate_limit_->first : kUnthrottledMax;
  const Millis per = rate_limit_ ? rate_limit_->second : Millis(kNominalIntervalMs);
  const SteadyTime now = clock_->Now();
  long long used = 0;
  for (auto it = window_.rbegin(); it != window_.rend() && *it > now - per; ++it) ++used;
  res.set_header("X-HubSpot-RateLimit-Max", std::to_string(max));
  res.set_header("X-HubSpot-RateLimit-Remaining", std::to_string(exhausted ? 0 : std::max(0LL, max - used)));
  res.set_header("X-HubSpot-RateLimit-Interval-Milliseconds", std::to_string(per.count()));
  res.set_header("X-HubSpot-RateLimit-Daily", std::to_string(daily_limit_));
  res.set_header("X-HubSpot-RateLimit-Daily-Remaining",
                 std::to_string(std::max(0LL, daily_limit_ - daily_used_)));
}

bool HubSpotEmulator::Admit(const httplib::Request& req, httplib::Response& res, bool write) {
  const std::string correlation = "sandbox-hubspot-" + std::to_string(++correlation_);
  const std::string auth = req.get_header_value("Authorization");
  if (auth.rfind("Bearer ", 0) != 0 || auth.substr(7) != token_) {
    SendJson(res, 401,
             ErrorBody(auth.empty() ? "Authentication credentials not found."
                                    : "The access token provided is invalid or has expired.",
                       "INVALID_AUTHENTICATION", correlation));
    SetLimitHeaders(res);
    return false;
  }
  const SteadyTime now = clock_->Now();
  const Millis per = rate_limit_ ? rate_limit_->second : Millis(kNominalIntervalMs);
  while (!window_.empty() && window_.front() <= now - per) window_.pop_front();
  if (daily_used_ >= daily_limit_) {
    json body = {{"status", "error"}, {"message", "You have reached your daily limit."},
                 {"errorType", "RATE_LIMIT"}, {"policyName", "DAILY"},
                 {"correlationId", correlation}, {"requestId", correlation}};
    SendJson(res, 429, body);
    SetLimitHeaders(res);
    return false;
  }
  if (rate_limit_ && static_cast<long long>(window_.size()) >= rate_limit_->first) {
    SetLimitHeaders(res);
    json body = {{"status", "error"},
                 {"message", "You have reached your ten_secondly_rolling limit."},
                 {"errorType", "RATE_LIMIT"}, {"policyName", "TEN_SECONDLY_ROLLING"},
                 {"correlationId", correlation}, {"requestId", correlation}};
    SendJson(res, 429, body);
    return false;
  }
  window_.push_back(now);
  if (write) ++daily_used_;
  SetLimitHeaders(res);
  return true;
}

void HubSpotEmulator::WriteRateLimited(httplib::Response& res) const {
  std::lock_guard<std::mutex> lock(mu_);
  SetLimitHeaders(res, /*exhausted=*/true);
  json body = {{"status", "error"},
               {"message", "You have reached your ten_secondly_rolling limit."},
               {"errorType", "RATE_LIMIT"}, {"policyName", "TEN_SECONDLY_ROLLING"},
               {"correlationId", "sandbox-hubspot-hidden"}, {"requestId", "sandbox-hubspot-hidden"}};
  SendJson(res, 429, body);
}

void HubSpotEmulator::HandleUpsert(const httplib::Request& req, httplib::Response& res) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!Admit(req, res, true)) return;
  const std::string object_type = req.matches[1];
  const std::string correlation = "sandbox-hubspot-" + std::to_string(correlation_);
  const std::string started = NowIso();
  json body = json::parse(req.body, nullptr, false);
  if (!body.is_object() || !body.contains("inputs") || !body["inputs"].is_array())
    return SendJson(res, 400, ErrorBody("Invalid input JSON: expected {\"inputs\":[..]}.",
                                        "VALIDATION_ERROR", correlation));
  const json& inputs = body["inputs"];
  if (inputs.empty() || inputs.size() > kMaxInputs)
    return SendJson(res, 400, ErrorBody("Batch input size must be between 1 and 100, got " +
                                            std::to_string(inputs.size()) + ".",
                                        "VALIDATION_ERROR", correlation));
  std::set<std::string> seen;
  json duplicates = json::array();
  for (const json& input : inputs) {
    if (!input.is_object() || !input.contains("id") || !input["id"].is_string() ||
        input["id"].get<std::string>().empty() || !input.contains("idProperty") ||
        !input["idProperty"].is_string())
      return SendJson(res, 400, ErrorBody("Every input needs a string id and idProperty.",
                                          "VALIDATION_ERROR", correlation));
    const std::string id_property = input["idProperty"];
    if (!store_.IsUnique(object_type, id_property))
      return SendJson(res, 400, ErrorBody("Property \"" + id_property +
                                              "\" is not a unique identifier property of " +
                                              object_type + ".",
                                          "VALIDATION_ERROR", correlation));
    if (!seen.insert(id_property + "\n" + input["id"].get<std::string>()).second)
      duplicates.push_back(input["id"]);
  }
  if (!duplicates.empty())
    return SendJson(res, 400, ErrorBody("Duplicate IDs found in batch input: " + duplicates.dump() +
                                            ". IDs must be unique",
                                        "VALIDATION_ERROR", correlation,
                                        json{{"ids", duplicates}}));
  json results = json::array();
  json errors = json::array();
  const std::string now = NowIso();
  for (const json& input : inputs) {
    const std::string id = input["id"];
    std::map<std::string, std::string> props;
    std::string property;
    if (std::string why = CheckProperties(input, &props, &property); !why.empty()) {
      errors.push_back(InputError("VALIDATION_ERROR", why, id, property));
      continue;
    }
    bool created = false;
    const StoredObject& object = store_.Upsert(object_type, input["idProperty"], id, props, now,
                                               &created);
    json result = EmulatorStore::ObjectJson(object);
    result["new"] = created;
    results.push_back(std::move(result));
  }
  // HubSpot does not promise request order; answering in reverse keeps clients honest.
  json ordered = json::array();
  for (auto it = results.rbegin(); it != results.rend(); ++it) ordered.push_back(*it);
  json out = {{"status", "COMPLETE"}, {"results", ordered}, {"startedAt", started},
              {"completedAt", NowIso()}};
  if (!errors.empty()) {
    out["numErrors"] = errors.size();
    out["errors"] = errors;
  }
  SendJson(res, errors.empty() ? 200 : 207, out);
}

void HubSpotEmulator::HandleUpdate(const httplib::Request& req, httplib::Response& res) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!Admit(req, res, true)) return;
  const std::string object_type = req.matches[1];
  const std::string correlation = "sandbox-hubspot-" + std::to_string(correlation_);
  const std::string started = NowIso();
  json body = json::parse(req.body, nullptr, false);
  if (!body.is_object() || !body.contains("inputs") || !body["inputs"].is_array())
    return SendJson(res, 400, ErrorBody("Invalid input JSON: expected {\"inputs\":[..]}.",
                                        "VALIDATION_ERROR", correlation));
  const json& inputs = body["inputs"];
  if (inputs.empty() || inputs.size() > kMaxInputs)
    return SendJson(res, 400, ErrorBody("Batch input size must be between 1 and 100, got " +
                                            std::to_string(inputs.size()) + ".",
                                        "VALIDATION_ERROR", correlation));
  std::set<std::string> seen;
  json duplicates = json::array();
  for (const json& input : inputs) {
    if (!input.is_object() || !input.contains("id") || !input["id"].is_string())
      return SendJson(res, 400, ErrorBody("Every input needs a string id.", "VALIDATION_ERROR",
                                          correlation));
    if (!seen.insert(input["id"].get<std::string>()).second) duplicates.push_back(input["id"]);
  }
  if (!duplicates.empty())
    return SendJson(res, 400, ErrorBody("Duplicate IDs found in batch input: " + duplicates.dump() +
                                            ". IDs must be unique",
                                        "VALIDATION_ERROR", correlation,
                                        json{{"ids", duplicates}}));
  json results = json::array();
  json errors = json::array();
  json missing = json::array();
  const std::string now = NowIso();
  for (const json& input : inputs) {
    const std::string id = input["id"];
    std::string hs_id = id;
    if (input.contains("idProperty") && input["idProperty"].is_string())
      hs_id = store_.FindBy(object_type, input["idProperty"], id).value_or("");
    if (store_.Get(object_type, hs_id) == nullptr) {
      missing.push_back(id);
      continue;
    }
    std::map<std::string, std::string> props;
    std::string property;
    if (std::string why = CheckProperties(input, &props, &property); !why.empty()) {
      errors.push_back(InputError("VALIDATION_ERROR", why, id, property));
      continue;
    }
    results.push_back(EmulatorStore::ObjectJson(*store_.Update(object_type, hs_id, props, now)));
  }
  if (!missing.empty())
    errors.push_back({{"status", "error"}, {"category", "OBJECT_NOT_FOUND"},
                      {"message", "Could not get some " + object_type +
                                      " objects, they may be deleted or not exist."},
                      {"context", {{"ids", missing}}}});
  json out = {{"status", "COMPLETE"}, {"results", results}, {"startedAt", started},
              {"completedAt", NowIso()}};
  if (!errors.empty()) {
    out["numErrors"] = errors.size();
    out["errors"] = errors;
  }
  SendJson(res, errors.empty() ? 200 : 207, out);
}

void HubSpotEmulator::HandleGet(const httplib::Request& req, httplib::Response& res) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!Admit(req, res, false)) return;
  const std::string object_type = req.matches[1];
  const std::string id = req.matches[2];
  std::string hs_id = id;
  if (req.has_param("idProperty"))
    hs_id = store_.FindBy(object_type, req.get_param_value("idProperty"), id).value_or("");
  const StoredObject* object = store_.Get(object_type, hs_id);
  if (object == nullptr)
    return SendJson(res, 404, ErrorBody("Object not found.", "OBJECT_NOT_FOUND",
                                        "sandbox-hubspot-" + std::to_string(correlation_)));
  SendJson(res, 200, EmulatorStore::ObjectJson(*object));
}

json HubSpotEmulator::Records() const {
  std::lock_guard<std::mutex> lock(mu_);
  return store_.ToJson();
}

void HubSpotEmulator::Reset() {
  std::lock_guard<std::mutex> lock(mu_);
  store_.Clear();
  window_.clear();
  daily_used_ = 0;
}

}  // namespace backflow::hubspot
