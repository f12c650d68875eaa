// Braze destination settings: the keys of a `type: braze` destination.
//
//   base_url       https://rest.<instance>.braze.com (or .braze.eu); for the sandbox any
//                  http://127.0.0.1[:port] or http://localhost[:port] URL
//   api_key        the REST API key (a Secret; needs users.track and users.delete)
//   legacy_limits  false: at most 75 objects per /users/track request in total;
//                  true: 75 per array (attributes, events, purchases)
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "backflow/config.h"
#include "backflow/secret.h"
#include "config/yaml_reader.h"

namespace backflow {

struct BrazeSettings : DestinationSettings {
  std::string base_url;  // no trailing slash
  Secret api_key;
  bool legacy_limits = false;
};

// Braze's limits (destinations.md, Braze).
inline constexpr size_t kBrazeMaxTrackObjects = 75;  // per request (per array: legacy)
inline constexpr size_t kBrazeMaxDeleteIds = 50;
inline constexpr long long kBrazeDefaultRequests = 3000;
inline constexpr long long kBrazeDefaultWindowMs = 3000;

// Why `url` is not a Braze REST base URL, or nullopt when it is one. Accepts
// https://rest.<instance>.braze.com|.braze.eu and http(s)://127.0.0.1|localhost[:port].
std::optional<std::string> CheckBrazeBaseUrl(const std::string& url);

// Reads base_url, api_key and legacy_limits; errors go to reader.errors(). Does not call
// reader.Finish() (the caller owns the reader and reports unknown keys).
std::shared_ptr<const BrazeSettings> ParseBrazeSettings(YamlReader& reader);

}  // namespace backflow
