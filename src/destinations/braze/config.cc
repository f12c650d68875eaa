#include "destinations/braze/config.h"

#include <regex>

namespace backflow {

std::optional<std::string> CheckBrazeBaseUrl(const std::string& url) {
  // Instances are named like iad-01, us-10, fra-02, au-01; stay permissive about the name
  // so a new instance does not need a release.
  static const std::regex kVendor(R"(https://rest\.[a-z0-9]+(-[a-z0-9]+)*\.braze\.(com|eu))");
  static const std::regex kLocal(R"(https?://(127\.0\.0\.1|localhost)(:[0-9]{1,5})?)");
  if (std::regex_match(url, kVendor) || std::regex_match(url, kLocal)) return std::nullopt;
  return "expected a Braze REST endpoint such as https://rest.iad-01.braze.com (or "
         "https://rest.fra-01.braze.eu), or a local sandbox URL such as http://127.0.0.1:8080; got "
         "'" +
         url + "'";
}

std::shared_ptr<const BrazeSettings> ParseBrazeSettings(YamlReader& reader) {
  auto settings = std::make_shared<BrazeSettings>();
  if (auto url = reader.String("base_url", /*required=*/true)) {
    std::string u = *url;
    while (!u.empty() && u.back() == '/') u.pop_back();
    if (auto why = CheckBrazeBaseUrl(u)) reader.Error("base_url", *why);
    settings->base_url = std::move(u);
  }
  if (auto key = reader.SecretString("api_key", /*required=*/true)) {
    if (key->empty()) reader.Error("api_key", "must not be empty");
    settings->api_key = std::move(*key);
  }
  if (auto legacy = reader.Bool("legacy_limits")) settings->legacy_limits = *legacy;
  return settings;
}

}  // namespace backflow
