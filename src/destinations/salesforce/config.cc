#include "destinations/salesforce/config.h"

#include <fstream>
#include <sstream>

#include "destinations/salesforce/jwt.h"

namespace backflow {

const char* SalesforceAuthFlowName(SalesforceAuthFlow flow) {
  switch (flow) {
    case SalesforceAuthFlow::kClientCredentials: return "client_credentials";
    case SalesforceAuthFlow::kRefreshToken: return "refresh_token";
    case SalesforceAuthFlow::kJwtBearer: return "jwt_bearer";
  }
  return "unknown";
}

namespace salesforce {
namespace {

std::optional<std::string> ReadUrl(YamlReader& reader, const std::string& key) {
  auto url = reader.String(key);
  if (!url) return std::nullopt;
  std::string u = *url;
  while (!u.empty() && u.back() == '/') u.pop_back();
  if (u.rfind("http://", 0) != 0 && u.rfind("https://", 0) != 0) {
    reader.Error(key, "expected an http:// or https:// URL");
    return std::nullopt;
  }
  return u;
}

void RequireSecret(YamlReader& auth, const std::string& key, const char* flow, Secret* out) {
  auto value = auth.SecretString(key);
  if (!value || value->empty()) {
    if (!value) auth.Error(key, std::string("is required for flow ") + flow);
    else auth.Error(key, "must not be empty");
    return;
  }
  *out = std::move(*value);
}

void ReadPrivateKey(YamlReader& auth, SalesforceSettings* s) {
  auto path = auth.String("private_key_file");
  if (!path || path->empty()) {
    auth.Error("private_key_file", "is required for flow jwt_bearer");
    return;
  }
  s->private_key_file = *path;
  std::ifstream in(*path, std::ios::binary);
  if (!in) {
    auth.Error("private_key_file", "cannot read " + *path);
    return;
  }
  std::ostringstream pem;
  pem << in.rdbuf();
  Secret key(pem.str());
  if (Status st = CheckRsaPrivateKey(key); !st.ok()) {
    auth.Error("private_key_file", *path + ": " + st.message());
    return;
  }
  s->private_key_pem = std::move(key);
}

void ReadAuth(YamlReader& auth, SalesforceSettings* s) {
  auto flow = auth.OneOf("flow", {"client_credentials", "refresh_token", "jwt_bearer"},
                         /*required=*/true);
  if (auto id = auth.String("client_id", /*required=*/true)) {
    if (id->empty()) auth.Error("client_id", "must not be empty");
    s->client_id = *id;
  }
  // Keys of the other flows are known (not "unknown key"), just unused.
  for (const char* k : {"client_secret", "refresh_token", "username", "private_key_file"})
    auth.Take(k);
  if (!flow) return;
  if (*flow == "client_credentials") {
    s->flow = SalesforceAuthFlow::kClientCredentials;
    RequireSecret(auth, "client_secret", "client_credentials", &s->client_secret);
  } else if (*flow == "refresh_token") {
    s->flow = SalesforceAuthFlow::kRefreshToken;
    RequireSecret(auth, "client_secret", "refresh_token", &s->client_secret);
    RequireSecret(auth, "refresh_token", "refresh_token", &s->refresh_token);
  } else {
    s->flow = SalesforceAuthFlow::kJwtBearer;
    auto user = auth.String("username");
    if (!user || user->empty()) auth.Error("username", "is required for flow jwt_bearer");
    else s->username = *user;
    ReadPrivateKey(auth, s);
  }
}

}  // namespace

std::shared_ptr<const SalesforceSettings> ParseSettings(YamlReader& reader) {
  auto s = std::make_shared<SalesforceSettings>();
  if (auto url = ReadUrl(reader, "login_url")) s->login_url = *url;
  if (auto v = reader.String("api_version")) {
    // "v60.0": a 'v', digits, '.', digits.
    const std::string& t = *v;
    size_t dot = t.find('.');
    bool good = t.size() >= 4 && t[0] == 'v' && dot != std::string::npos && dot > 1 &&
                dot + 1 < t.size() &&
                t.find_first_not_of("0123456789", 1) == dot &&
                t.find_first_not_of("0123456789", dot + 1) == std::string::npos;
    if (good) s->api_version = t;
    else reader.Error("api_version", "expected a version such as \"v60.0\"");
  }
  if (auto auth = reader.Map("auth", /*required=*/true)) {
    ReadAuth(*auth, s.get());
    auth->Finish();
  }
  if (auto share = reader.Percent("daily_quota_share")) {
    if (*share <= 0 || *share > 1) reader.Error("daily_quota_share", "expected a share in (0%, 100%]");
    else s->daily_quota_share = *share;
  }
  if (auto threshold = reader.Int("bulk_threshold", 1, 1000000000))
    s->bulk_threshold = static_cast<size_t>(*threshold);
  return s;
}

void ValidateSync(const SyncConfig& sync, const std::string& sync_path, ConfigErrors* errors) {
  if (sync.object.empty())
    errors->push_back({sync_path + ".object", "is required (a Salesforce sObject such as Lead)", ""});
  if (!sync.external_id_field || sync.external_id_field->empty())
    errors->push_back({sync_path + ".match.external_id_field",
                       "is required for Salesforce (an external ID field holding the primary key)",
                       ""});
}

}  // namespace salesforce
}  // namespace backflow
