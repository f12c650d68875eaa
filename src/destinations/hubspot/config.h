// HubSpot's destination settings (destinations.<name> with type: hubspot).
//
//   base_url: https://api.hubapi.com   # optional; no trailing slash is kept
//   token: "${HUBSPOT_TOKEN}"          # required: the private app token
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "backflow/config.h"
#include "backflow/secret.h"
#include "config/yaml_reader.h"

namespace backflow {

struct HubSpotSettings : DestinationSettings {
  static constexpr const char* kDefaultBaseUrl = "https://api.hubapi.com";
  std::string base_url = kDefaultBaseUrl;  // never ends with '/'
  Secret token;                            // required
};

namespace hubspot {

// HubSpot's documented limits for private apps (Free/Starter accounts).
inline constexpr long long kRateLimitRequests = 100;
inline constexpr Millis kRateLimitWindow{10000};
inline constexpr size_t kMaxBatchRecords = 100;

// Reads base_url and token; errors go to reader.errors(). Never returns null.
std::shared_ptr<const HubSpotSettings> ParseSettings(YamlReader& reader);

// A HubSpot sync needs a non-empty object and match.id_property.
void ValidateSync(const SyncConfig& sync, const std::string& sync_path, ConfigErrors* errors);

}  // namespace hubspot
}  // namespace backflow
