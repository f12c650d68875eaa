// Salesforce's destination settings (destinations.<name> with type: salesforce).
//
//   login_url: https://login.salesforce.com   # the token endpoint's host; no trailing '/'
//   api_version: "v60.0"
//   auth:
//     flow: client_credentials                # | refresh_token | jwt_bearer
//     client_id: "${SF_CLIENT_ID}"            # always required
//     client_secret: "${SF_CLIENT_SECRET}"    # client_credentials, refresh_token
//     refresh_token: "${SF_REFRESH_TOKEN}"    # refresh_token
//     username: integration@example.com       # jwt_bearer
//     private_key_file: /etc/backflow/sf.pem  # jwt_bearer: PEM RSA private key, read here
//   daily_quota_share: 50%                    # share of the org's daily API budget to use
//   bulk_threshold: 10000                     # more changed rows in a run -> Bulk API 2.0
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "backflow/config.h"
#include "backflow/secret.h"
#include "config/yaml_reader.h"

namespace backflow {

enum class SalesforceAuthFlow { kClientCredentials, kRefreshToken, kJwtBearer };

// "client_credentials", "refresh_token", "jwt_bearer".
const char* SalesforceAuthFlowName(SalesforceAuthFlow flow);

struct SalesforceSettings : DestinationSettings {
  static constexpr const char* kDefaultLoginUrl = "https://login.salesforce.com";
  static constexpr const char* kDefaultApiVersion = "v60.0";

  std::string login_url = kDefaultLoginUrl;  // never ends with '/'
  std::string api_version = kDefaultApiVersion;
  SalesforceAuthFlow flow = SalesforceAuthFlow::kClientCredentials;
  std::string client_id;
  Secret client_secret;
  Secret refresh_token;
  std::string username;
  std::string private_key_file;
  Secret private_key_pem;  // the file's content, read (and checked) at config time
  double daily_quota_share = 0.5;  // 0..1
  size_t bulk_threshold = 10000;
};

namespace salesforce {

// Salesforce has no published per-second limit; 25/s keeps well inside the 25
// concurrent long requests per org. Composite sObject collections take 200 records.
inline constexpr long long kRateLimitRequests = 25;
inline constexpr Millis kRateLimitWindow{1000};
inline constexpr size_t kMaxBatchRecords = 200;

// Reads the keys above; errors go to reader.errors() with their YAML paths. Never null.
std::shared_ptr<const SalesforceSettings> ParseSettings(YamlReader& reader);

// A Salesforce sync needs an object (the sObject) and match.external_id_field.
void ValidateSync(const SyncConfig& sync, const std::string& sync_path, ConfigErrors* errors);

}  // namespace salesforce
}  // namespace backflow
