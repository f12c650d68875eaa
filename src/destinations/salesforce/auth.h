// Salesforce OAuth 2.0: the token request of each flow and the session it yields.
//
//   POST {login_url}/services/oauth2/token   (application/x-www-form-urlencoded)
//   client_credentials: grant_type, client_id, client_secret
//   refresh_token:      grant_type, client_id, client_secret, refresh_token
//   jwt_bearer:         grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer, assertion
// 200 {"access_token","instance_url",..} is the session; data calls go to instance_url.
// 400 {"error":"invalid_grant","error_description"} -> AuthRefused naming the flow and the
// login URL, never a credential.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "backflow/clock.h"
#include "backflow/http.h"
#include "backflow/secret.h"
#include "backflow/status.h"
#include "destinations/salesforce/config.h"

namespace backflow::salesforce {

inline constexpr const char* kJwtGrantType = "urn:ietf:params:oauth:grant-type:jwt-bearer";

struct Session {
  Secret access_token;
  std::string instance_url;  // never ends with '/'
};

// application/x-www-form-urlencoded escaping of one value.
std::string FormEncode(std::string_view value);

// The configured flow's token request; `now` dates the JWT. Fails only when the JWT
// cannot be signed (ParseSettings already checked the key).
[[nodiscard]] Result<HttpRequest> BuildTokenRequest(const SalesforceSettings& settings,
                                                    WallTime now);

// Reads the token endpoint's answer. Errors: kAuthRefused (4xx: the credentials were
// refused), kUnavailable (transport error, 5xx), kFailed (a 200 without a session).
[[nodiscard]] Result<Session> ParseTokenResponse(const SalesforceSettings& settings,
                                                 const HttpResponse& response);

// The session of one destination, shared by every sync that writes to it. Thread-safe.
class SessionHolder {
 public:
  SessionHolder(std::shared_ptr<const SalesforceSettings> settings, Clock* clock);

  // The token request; a signing failure is kept and returned by Accept().
  HttpRequest BuildRequest() const;
  [[nodiscard]] Status Accept(const HttpResponse& response);

  // The current session; an empty one before the first successful Accept().
  Session Current() const;

 private:
  std::shared_ptr<const SalesforceSettings> settings_;
  Clock* clock_;
  mutable std::mutex mu_;
  mutable Status build_error_;
  Session session_;
};

}  // namespace backflow::salesforce
