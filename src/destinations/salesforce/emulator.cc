#include "destinations/salesforce/emulator.h"

#include <algorithm>

#include "destinations/salesforce/emulator_state.h"

namespace backflow::salesforce {

using nlohmann::json;

namespace {

constexpr size_t kMaxStringChars = 255;
constexpr char kBase62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

uint64_t Fnv1a(const std::string& s, uint64_t h = 1469598103934665603ULL) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

size_t CodePoints(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

std::string KeyPrefix(const std::string& object) {
  static const std::map<std::string, std::string> kPrefixes = {
      {"Lead", "00Q"}, {"Contact", "003"}, {"Account", "001"}, {"Opportunity", "006"},
      {"Case", "500"}};
  auto it = kPrefixes.find(object);
  return it == kPrefixes.end() ? "a00" : it->second;
}

}  // namespace

std::string EmulatorRecordId(const std::string& object, const std::string& seed_text) {
  std::string id = KeyPrefix(object);
  uint64_t h = Fnv1a(object + '\0' + seed_text);
  uint64_t h2 = Fnv1a(seed_text, h);
  for (int i = 0; i < 15; ++i) {
    uint64_t& src = i < 8 ? h : h2;
    id += kBase62[src % 62];
    src /= 62;
  }
  return id;
}

json ErrorArray(const std::string& code, const std::string& message) {
  return json::array({{{"message", message}, {"errorCode", code}}});
}

void SendJson(httplib::Response& res, int status, const json& body) {
  res.status = status;
  // As Salesforce labels its answers (a bare "application/json" would be compressed).
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace),
                  "application/json;charset=UTF-8");
}

SalesforceEmulator::SalesforceEmulator(Clock* clock)
    : clock_(clock),
      options_(std::make_unique<Options>()), store_(std::make_unique<Store>()) {}

SalesforceEmulator::~SalesforceEmulator() = default;

void SalesforceEmulator::Configure(const json& o) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!o.is_object()) return;
  Options& opt = *options_;
  opt.client_id = o.value("client_id", opt.client_id);
  opt.client_secret = o.value("client_secret", opt.client_secret);
  opt.refresh_token = o.value("refresh_token", opt.refresh_token);
  opt.username = o.value("username", opt.username);
  opt.public_key_pem = o.value("public_key_pem", opt.public_key_pem);
  opt.token_ttl = std::chrono::seconds(o.value("token_ttl_seconds", opt.token_ttl.count()));
  opt.daily_limit = o.value("daily_limit", opt.daily_limit);
  opt.max_upload_bytes = o.value("max_upload_bytes", opt.max_upload_bytes);
  opt.seed = o.value("seed", opt.seed);
  if (o.contains("rejected_fields") && o["rejected_fields"].is_object())
    for (const auto& [object, fields] : o["rejected_fields"].items())
      if (fields.is_array())
        for (const json& f : fields)
          if (f.is_string()) opt.rejected_fields[object].insert(f.get<std::string>());
}

void SalesforceEmulator::Register(httplib::Server& server, sandbox::Sandbox& sandbox) {
  sandbox_ = &sandbox;
  auto route = [&](bool write, void (SalesforceEmulator::*handler)(const httplib::Request&,
                                                                   httplib::Response&)) {
    return sandbox.Wrap(name(), write, [this, handler](const httplib::Request& req,
                                                      httplib::Response& res) {
      (this->*handler)(req, res);
    });
  };
  const std::string data = R"(/services/data/(v\d+\.\d+))";
  const std::string job = data + R"(/jobs/ingest/([A-Za-z0-9]+))";
  server.Post("/services/oauth2/token", route(false, &SalesforceEmulator::HandleToken));
  server.Patch(data + R"(/composite/sobjects/([A-Za-z0-9_]+)/([A-Za-z0-9_]+))",
               route(true, &SalesforceEmulator::HandleUpsert));
  server.Patch(data + "/composite/sobjects/?", route(true, &SalesforceEmulator::HandleUpdate));
  server.Post(data + "/jobs/ingest/?", route(true, &SalesforceEmulator::HandleCreateJob));
  server.Put(job + "/batches/?", route(true, &SalesforceEmulator::HandleUpload));
  server.Patch(job + "/?", route(true, &SalesforceEmulator::HandleSetJobState));
  server.Get(job + "/?", route(false, &SalesforceEmulator::HandleGetJob));
  server.Get(job + "/(successfulResults|failedResults)/?",
             route(false, &SalesforceEmulator::HandleResults));

  server.Post("/_admin/salesforce/expire_tokens", [this](const httplib::Request&,
                                                          httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    long long n = static_cast<long long>(store_->tokens.size());
    store_->tokens.clear();
    SendJson(res, 200, {{"expired", n}});
  });
  server.Post("/_admin/salesforce/api_usage", [this](const httplib::Request& req,
                                                      httplib::Response& res) {
    json body = json::parse(req.body, nullptr, false);
    if (!body.is_object() || !body.contains("used") || !body["used"].is_number_integer()) {
      SendJson(res, 400, {{"error", "expected {\"used\": N}"}});
      return;
    }
    std::lock_guard<std::mutex> lock(mu_);
    store_->api_used = body["used"].get<long long>();
    SendJson(res, 200, {{"used", store_->api_used}, {"limit", options_->daily_limit}});
  });
}

json SalesforceEmulator::Records() const {
  std::lock_guard<std::mutex> lock(mu_);
  json out = json::object();
  for (const auto& [object, store] : store_->objects) {
    std::vector<const Store::Object::ById::value_type*> by_id;
    by_id.reserve(store.by_id.size());
    for (const auto& record : store.by_id) by_id.push_back(&record);
    std::sort(by_id.begin(), by_id.end(),
              [](const auto* a, const auto* b) { return a->first < b->first; });
    json list = json::array();
    for (const auto* record : by_id) list.push_back(record->second);
    out[object] = std::move(list);
  }
  return out;
}

void SalesforceEmulator::Reset() {
  std::lock_guard<std::mutex> lock(mu_);
  auto tokens = std::move(store_->tokens);  // sessions survive a reset; data does not
  long long issued = store_->tokens_issued;
  *store_ = Store();
  store_->tokens = std::move(tokens);
  store_->tokens_issued = issued;
}

std::string SalesforceEmulator::LimitInfo() const {
  return "api-usage=" + std::to_string(store_->api_used) + "/" +
         std::to_string(options_->daily_limit);
}

void SalesforceEmulator::WriteRateLimited(httplib::Response& res) const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    res.set_header("Sforce-Limit-Info", LimitInfo());
  }
  SendJson(res, 503, ErrorArray("SERVER_UNAVAILABLE", "Server is busy; try again later."));
}

bool SalesforceEmulator::AdmitDataCall(const httplib::Request& req, httplib::Response& res) {
  const std::string auth = req.get_header_value("Authorization");
  const std::string kBearer = "Bearer ";
  auto it = auth.rfind(kBearer, 0) == 0 ? store_->tokens.find(auth.substr(kBearer.size()))
                                        : store_->tokens.end();
  if (it == store_->tokens.end() || clock_->Now() >= it->second) {
    SendJson(res, 401, ErrorArray("INVALID_SESSION_ID", "Session expired or invalid"));
    return false;
  }
  ++store_->api_used;
  res.set_header("Sforce-Limit-Info", LimitInfo());
  if (store_->api_used > options_->daily_limit) {
    SendJson(res, 403, ErrorArray("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."));
    return false;
  }
  return true;
}

json SalesforceEmulator::CheckFields(const std::string& object, const json& fields) const {
  auto rejected = options_->rejected_fields.find(object);
  return CheckRecordFields(
      object, fields, rejected == options_->rejected_fields.end() ? nullptr : &rejected->second);
}

json CheckRecordFields(const std::string& object, const json& fields,
                       const std::set<std::string>* rejected) {
  for (const auto& [name, value] : fields.items()) {
    if (rejected != nullptr && rejected->count(name) > 0)
      return {{"statusCode", "INVALID_FIELD"},
              {"message", "No such column '" + name + "' on sobject of type " + object},
              {"fields", json::array({name})}};
    if (value.is_object() || value.is_array())
      return {{"statusCode", "INVALID_TYPE_ON_FIELD_IN_RECORD"},
              {"message", name + ": value not of required type"},
              {"fields", json::array({name})}};
    if (value.is_string() && CodePoints(value.get<std::string>()) > kMaxStringChars)
      return {{"statusCode", "STRING_TOO_LONG"},
              {"message", name + ": data value too large: " + value.get<std::string>() +
                              " (max length=" + std::to_string(kMaxStringChars) + ")"},
              {"fields", json::array({name})}};
  }
  return nullptr;
}

std::pair<std::string, bool> SalesforceEmulator::Upsert(const std::string& object,
                                                        const std::string& ext_field,
                                                        const std::string& ext_value, json fields) {
  Store::Object& store = store_->objects[object];
  auto [found, created] = store.by_external[ext_field].try_emplace(ext_value, nullptr);
  if (created) {
    std::string id = EmulatorRecordId(object, ext_field + '\0' + ext_value);
    for (int salt = 1; store.by_id.count(id); ++salt)
      id = EmulatorRecordId(object, ext_field + '\0' + ext_value + std::to_string(salt));
    found->second = &*store.by_id.try_emplace(id).first;
    found->second->second = {{"Id", std::move(id)}};
  }
  const std::string& id = found->second->first;
  json& rec = found->second->second;
  for (auto field = fields.begin(); field != fields.end(); ++field)
    rec[field.key()] = std::move(field.value());
  rec[ext_field] = ext_value;
  return {id, created};
}

}  // namespace backflow::salesforce
