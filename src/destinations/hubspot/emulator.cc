#include "destinations/hubspot/emulator.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string_view>
#include <tuple>
#include <vector>

#include "backflow/json_text.h"

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

// As SendJson, for JSON text already written: moved into the answer, not copied.
void SendText(httplib::Response& res, int status, std::string text) {
  res.status = status;
  res.body = std::move(text);
  res.headers.erase("Content-Type");
  res.set_header("Content-Type", "application/json;charset=utf-8");
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

// --- Reading a batch (outside the lock) ---

// One input of a batch.
struct BatchInput {
  std::string id;
  std::optional<std::string> id_property;  // always given to upsert; update: optional
  PropertyList properties;                 // when `refused` is empty
  std::string refused;                     // why the input fails in a 207, or ""
  std::string refused_property;            // the property `refused` names, or ""
};

// A batch body. `refusal` is the message of a whole-batch 400 (with `context` when it has
// one), or "" when the inputs go on to the store.
struct Batch {
  std::vector<BatchInput> inputs;
  std::string refusal;
  json context;
};

json* Member(json& object, const char* key) {
  auto it = object.find(key);  // end() when `object` is not an object
  return it == object.end() ? nullptr : &*it;
}

bool IsString(const json* value) { return value != nullptr && value->is_string(); }

// The inputs of `{"inputs":[..]}`, or null with `batch->refusal` set when the body is not
// that or has not 1 to 100 inputs.
json ReadInputs(const std::string& text, Batch* batch) {
  json body = json::parse(text, nullptr, false);
  json* inputs = Member(body, "inputs");
  if (inputs == nullptr || !inputs->is_array()) {
    batch->refusal = "Invalid input JSON: expected {\"inputs\":[..]}.";
    return nullptr;
  }
  if (inputs->empty() || inputs->size() > HubSpotEmulator::kMaxInputs) {
    batch->refusal =
        "Batch input size must be between 1 and 100, got " + std::to_string(inputs->size()) + ".";
    return nullptr;
  }
  return std::move(*inputs);
}

// Takes an input's properties, or notes why HubSpot refuses them: the first offending one
// by name (the order json objects iterate in).
void ReadProperties(json& input, BatchInput* in) {
  json* props = Member(input, "properties");
  if (props == nullptr) return;
  if (!props->is_object()) {
    in->refused = "properties must be an object";
    return;
  }
  in->properties.reserve(props->size());
  for (auto it = props->begin(); it != props->end(); ++it) {
    const std::string& name = it.key();
    std::string why;
    if (!it->is_string())
      why = "Property values were not valid: the value of \"" + name + "\" must be a string";
    else if (name.rfind("invalid_", 0) == 0)
      why = "Property values were not valid: property \"" + name + "\" does not exist";
    else if (it->get_ref<const std::string&>().find("__reject__") != std::string::npos)
      why = "Property values were not valid: \"" + name + "\" has an invalid value";
    if (!why.empty()) {
      in->refused = std::move(why);
      in->refused_property = name;
      in->properties.clear();
      return;
    }
    in->properties.emplace_back(name, std::move(it->get_ref<std::string&>()));
  }
}

// Refuses the batch when an id is given twice (by `key`); the context lists each repeat
// in input order, as HubSpot does.
template <typename Key>
void RefuseRepeatedIds(Key key, Batch* batch) {
  const std::vector<BatchInput>& inputs = batch->inputs;
  std::vector<size_t> order(inputs.size());
  std::iota(order.begin(), order.end(), 0);
  // Stable: of equal ids the first in the batch sorts first and is not a repeat.
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return key(inputs[a]) < key(inputs[b]); });
  std::vector<bool> repeat(inputs.size(), false);
  for (size_t k = 1; k < order.size(); ++k)
    repeat[order[k]] = key(inputs[order[k]]) == key(inputs[order[k - 1]]);
  json repeated = json::array();
  for (size_t i = 0; i < inputs.size(); ++i)
    if (repeat[i]) repeated.push_back(inputs[i].id);
  if (repeated.empty()) return;
  batch->refusal =
      "Duplicate IDs found in batch input: " + repeated.dump() + ". IDs must be unique";
  batch->context = {{"ids", std::move(repeated)}};
}

// A batch/upsert body; `unique` is the object type's unique properties.
Batch ReadUpsert(const std::string& text, const std::string& object_type,
                 const std::set<std::string>& unique) {
  Batch batch;
  json inputs = ReadInputs(text, &batch);
  if (!batch.refusal.empty()) return batch;
  batch.inputs.reserve(inputs.size());
  for (json& input : inputs) {
    json* id = Member(input, "id");
    json* id_property = Member(input, "idProperty");
    if (!IsString(id) || id->get_ref<const std::string&>().empty() || !IsString(id_property)) {
      batch.refusal = "Every input needs a string id and idProperty.";
      return batch;
    }
    const std::string& property = id_property->get_ref<const std::string&>();
    if (unique.count(property) == 0) {
      batch.refusal = "Property \"" + property + "\" is not a unique identifier property of " +
                      object_type + ".";
      return batch;
    }
    BatchInput& in = batch.inputs.emplace_back();
    in.id = std::move(id->get_ref<std::string&>());
    in.id_property = property;
    ReadProperties(input, &in);
  }
  RefuseRepeatedIds([](const BatchInput& in) { return std::tie(*in.id_property, in.id); }, &batch);
  return batch;
}

// A batch/update body.
Batch ReadUpdate(const std::string& text) {
  Batch batch;
  json inputs = ReadInputs(text, &batch);
  if (!batch.refusal.empty()) return batch;
  batch.inputs.reserve(inputs.size());
  for (json& input : inputs) {
    json* id = Member(input, "id");
    if (!IsString(id)) {
      batch.refusal = "Every input needs a string id.";
      return batch;
    }
    BatchInput& in = batch.inputs.emplace_back();
    in.id = std::move(id->get_ref<std::string&>());
    if (json* p = Member(input, "idProperty"); IsString(p)) in.id_property = p->get<std::string>();
    ReadProperties(input, &in);
  }
  RefuseRepeatedIds([](const BatchInput& in) -> const std::string& { return in.id; }, &batch);
  return batch;
}

// --- Writing answers (outside the lock) ---
//
// A 100-object answer built as nlohmann::json took thousands of node allocations, and they
// dominated the emulator; these write the same text straight into one string. Keys go in
// sorted order, as json::dump() wrote them.

// An object as the store held it when the request applied it.
struct Written {
  StoredObject object;
  std::optional<bool> created;  // upserts answer "new"
};

size_t SizeHint(const StoredObject& object) {
  size_t n = 128 + object.id.size() + object.created_at.size() + object.updated_at.size();
  for (const auto& [name, value] : object.properties) n += name.size() + value.size() + 6;
  return n;
}

// {"archived":false,"createdAt":..,"id":..,["new":..,]"properties":{..},"updatedAt":..}
void AppendObject(std::string& out, const Written& written) {
  const StoredObject& object = written.object;
  out += R"({"archived":false,"createdAt":)";
  AppendJsonString(&out, object.created_at);
  out += R"(,"id":)";
  AppendJsonString(&out, object.id);
  if (written.created) out += *written.created ? R"(,"new":true)" : R"(,"new":false)";
  out += R"(,"properties":{)";
  bool first = true;
  for (const auto& [name, value] : object.properties) {
    if (!first) out += ',';
    first = false;
    AppendJsonString(&out, name);
    out += ':';
    AppendJsonString(&out, value);
  }
  out += R"(},"updatedAt":)";
  AppendJsonString(&out, object.updated_at);
  out += '}';
}

// {"completedAt":..,["errors":[..],"numErrors":N,]"results":[..],"startedAt":..,
//  "status":"COMPLETE"}
std::string BatchAnswer(const std::vector<Written>& results, const json& errors,
                        const std::string& started, const std::string& completed) {
  const std::string error_text = errors.empty() ? "" : errors.dump();
  size_t size = 128 + error_text.size();
  for (const Written& w : results) size += SizeHint(w.object);
  std::string out;
  out.reserve(size);
  out += R"({"completedAt":)";
  AppendJsonString(&out, completed);
  if (!errors.empty()) {
    out += R"(,"errors":)" + error_text;
    out += R"(,"numErrors":)" + std::to_string(errors.size());
  }
  out += R"(,"results":[)";
  for (size_t i = 0; i < results.size(); ++i) {
    if (i > 0) out += ',';
    AppendObject(out, results[i]);
  }
  out += R"(],"startedAt":)";
  AppendJsonString(&out, started);
  out += R"(,"status":"COMPLETE"})";
  return out;
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
  // The window holds request times in order (Admit pushes them under mu_), and unthrottled
  // it holds ten seconds of them: find the first in the interval rather than count.
  const long long used =
      window_.end() - std::upper_bound(window_.begin(), window_.end(), now - per);
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

std::string HubSpotEmulator::Correlation() const {
  return "sandbox-hubspot-" + std::to_string(correlation_);
}

std::optional<HubSpotEmulator::Admission> HubSpotEmulator::AdmitBatch(
    const httplib::Request& req, httplib::Response& res, const std::string& object_type) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!Admit(req, res, /*write=*/true)) return std::nullopt;
  return Admission{Correlation(), store_.UniqueProperties(object_type)};
}

void HubSpotEmulator::HandleUpsert(const httplib::Request& req, httplib::Response& res) {
  const std::string object_type = req.matches[1];
  std::optional<Admission> admission = AdmitBatch(req, res, object_type);
  if (!admission) return;
  const std::string started = NowIso();
  Batch batch = ReadUpsert(req.body, object_type, admission->unique);
  if (!batch.refusal.empty())
    return SendJson(
        res, 400,
        ErrorBody(batch.refusal, "VALIDATION_ERROR", admission->correlation, batch.context));
  std::vector<Written> results;
  results.reserve(batch.inputs.size());
  {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string now = NowIso();
    for (const BatchInput& input : batch.inputs) {
      if (!input.refused.empty()) continue;
      bool created = false;
      const StoredObject& object =
          store_.Upsert(object_type, *input.id_property, input.id, input.properties, now, &created);
      results.push_back({object, created});
    }
  }
  json errors = json::array();
  for (const BatchInput& input : batch.inputs)
    if (!input.refused.empty())
      errors.push_back(
          InputError("VALIDATION_ERROR", input.refused, input.id, input.refused_property));
  // HubSpot does not promise request order; answering in reverse keeps clients honest.
  std::reverse(results.begin(), results.end());
  SendText(res, errors.empty() ? 200 : 207, BatchAnswer(results, errors, started, NowIso()));
}

void HubSpotEmulator::HandleUpdate(const httplib::Request& req, httplib::Response& res) {
  const std::string object_type = req.matches[1];
  std::optional<Admission> admission = AdmitBatch(req, res, object_type);
  if (!admission) return;
  const std::string started = NowIso();
  Batch batch = ReadUpdate(req.body);
  if (!batch.refusal.empty())
    return SendJson(
        res, 400,
        ErrorBody(batch.refusal, "VALIDATION_ERROR", admission->correlation, batch.context));
  std::vector<Written> results;
  results.reserve(batch.inputs.size());
  std::vector<bool> missing(batch.inputs.size(), false);
  {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string now = NowIso();
    for (size_t i = 0; i < batch.inputs.size(); ++i) {
      const BatchInput& input = batch.inputs[i];
      std::string hs_id = input.id;
      if (input.id_property)
        hs_id = store_.FindBy(object_type, *input.id_property, input.id).value_or("");
      // A missing object is reported as such, whatever its properties.
      missing[i] = store_.Get(object_type, hs_id) == nullptr;
      if (missing[i] || !input.refused.empty()) continue;
      results.push_back({*store_.Update(object_type, hs_id, input.properties, now), std::nullopt});
    }
  }
  json errors = json::array();
  json missing_ids = json::array();
  for (size_t i = 0; i < batch.inputs.size(); ++i) {
    const BatchInput& input = batch.inputs[i];
    if (missing[i])
      missing_ids.push_back(input.id);
    else if (!input.refused.empty())
      errors.push_back(
          InputError("VALIDATION_ERROR", input.refused, input.id, input.refused_property));
  }
  if (!missing_ids.empty())
    errors.push_back({{"status", "error"},
                      {"category", "OBJECT_NOT_FOUND"},
                      {"message", "Could not get some " + object_type +
                                      " objects, they may be deleted or not exist."},
                      {"context", {{"ids", std::move(missing_ids)}}}});
  SendText(res, errors.empty() ? 200 : 207, BatchAnswer(results, errors, started, NowIso()));
}

void HubSpotEmulator::HandleGet(const httplib::Request& req, httplib::Response& res) {
  const std::string object_type = req.matches[1];
  const std::string id = req.matches[2];
  std::optional<Written> found;
  std::string correlation;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!Admit(req, res, false)) return;
    std::string hs_id = id;
    if (req.has_param("idProperty"))
      hs_id = store_.FindBy(object_type, req.get_param_value("idProperty"), id).value_or("");
    if (const StoredObject* object = store_.Get(object_type, hs_id))
      found = Written{*object, std::nullopt};
    else
      correlation = Correlation();
  }
  if (!found)
    return SendJson(res, 404, ErrorBody("Object not found.", "OBJECT_NOT_FOUND", correlation));
  std::string out;
  AppendObject(out, *found);
  SendText(res, 200, std::move(out));
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
