#include "destinations/salesforce/auth.h"

#include <nlohmann/json.hpp>

#include "destinations/salesforce/jwt.h"

namespace backflow::salesforce {

std::string FormEncode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Result<HttpRequest> BuildTokenRequest(const SalesforceSettings& s, WallTime now) {
  HttpRequest req;
  req.method = "POST";
  req.url = s.login_url + "/services/oauth2/token";
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                 {"Accept", "application/json"}};
  switch (s.flow) {
    case SalesforceAuthFlow::kClientCredentials:
      req.body = "grant_type=client_credentials&client_id=" + FormEncode(s.client_id) +
                 "&client_secret=" + FormEncode(s.client_secret.Reveal());
      break;
    case SalesforceAuthFlow::kRefreshToken:
      req.body = "grant_type=refresh_token&client_id=" + FormEncode(s.client_id) +
                 "&client_secret=" + FormEncode(s.client_secret.Reveal()) +
                 "&refresh_token=" + FormEncode(s.refresh_token.Reveal());
      break;
    case SalesforceAuthFlow::kJwtBearer: {
      Result<std::string> jwt =
          BuildJwtAssertion({s.client_id, s.username, s.login_url, now}, s.private_key_pem);
      if (!jwt.ok()) return jwt.status();
      req.body = std::string("grant_type=") + FormEncode(kJwtGrantType) +
                 "&assertion=" + FormEncode(*jwt);
      break;
    }
  }
  return req;
}

Result<Session> ParseTokenResponse(const SalesforceSettings& s, const HttpResponse& response) {
  const std::string where = std::string("the ") + SalesforceAuthFlowName(s.flow) +
                            " token request at " + s.login_url;
  if (response.error != TransportError::kNone)
    return Status::Unavailable("Salesforce did not answer " + where + ": " +
                               response.error_message);
  nlohmann::json body = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (response.status == 200) {
    if (body.is_object() && body.value("access_token", nlohmann::json()).is_string() &&
        body.value("instance_url", nlohmann::json()).is_string()) {
      Session session;
      session.access_token = Secret(body["access_token"].get<std::string>());
      session.instance_url = body["instance_url"].get<std::string>();
      while (!session.instance_url.empty() && session.instance_url.back() == '/')
        session.instance_url.pop_back();
      if (!session.access_token.empty() && !session.instance_url.empty()) return session;
    }
    return Status::Failed("Salesforce answered " + where +
                          " without an access_token and instance_url");
  }
  if (response.status >= 500 || response.status == 429 || response.status == 408)
    return Status::Unavailable("Salesforce answered " + where + " with HTTP " +
                               std::to_string(response.status));
  std::string description;
  if (body.is_object()) {
    if (body.contains("error_description") && body["error_description"].is_string())
      description = body["error_description"].get<std::string>();
    else if (body.contains("error") && body["error"].is_string())
      description = body["error"].get<std::string>();
  }
  if (description.empty()) description = "HTTP " + std::to_string(response.status);
  return Status::AuthRefused("Salesforce refused " + where + ": " + description);
}

SessionHolder::SessionHolder(std::shared_ptr<const SalesforceSettings> settings, Clock* clock)
    : settings_(std::move(settings)), clock_(clock) {}

HttpRequest SessionHolder::BuildRequest() const {
  Result<HttpRequest> req = BuildTokenRequest(*settings_, clock_->WallNow());
  std::lock_guard<std::mutex> lock(mu_);
  if (!req.ok()) {
    build_error_ = req.status();
    // Still a well-formed request: the endpoint refuses it, and Accept() reports why.
    HttpRequest fallback;
    fallback.method = "POST";
    fallback.url = settings_->login_url + "/services/oauth2/token";
    fallback.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    fallback.body = std::string("grant_type=") + FormEncode(kJwtGrantType) + "&assertion=";
    return fallback;
  }
  build_error_ = Status::Ok();
  return std::move(req).value();
}

Status SessionHolder::Accept(const HttpResponse& response) {
  Result<Session> session = ParseTokenResponse(*settings_, response);
  std::lock_guard<std::mutex> lock(mu_);
  if (!build_error_.ok()) return Status::AuthRefused(build_error_.message());
  if (!session.ok()) return session.status();
  session_ = std::move(session).value();
  return Status::Ok();
}

Session SessionHolder::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return session_;
}

}  // namespace backflow::salesforce
