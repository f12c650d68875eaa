#include "destinations/hubspot/config.h"

namespace backflow::hubspot {

std::shared_ptr<const HubSpotSettings> ParseSettings(YamlReader& reader) {
  auto settings = std::make_shared<HubSpotSettings>();
  if (auto url = reader.String("base_url")) {
    std::string u = *url;
    while (!u.empty() && u.back() == '/') u.pop_back();
    if (u.rfind("http://", 0) != 0 && u.rfind("https://", 0) != 0)
      reader.Error("base_url", "expected an http:// or https:// URL");
    else
      settings->base_url = u;
  }
  if (auto token = reader.SecretString("token", /*required=*/true)) {
    if (token->empty())
      reader.Error("token", "must not be empty");
    else
      settings->token = std::move(*token);
  }
  return settings;
}

void ValidateSync(const SyncConfig& sync, const std::string& sync_path, ConfigErrors* errors) {
  if (sync.object.empty())
    errors->push_back({sync_path + ".object", "is required (a HubSpot object type such as contacts)", ""});
  if (!sync.id_property || sync.id_property->empty())
    errors->push_back({sync_path + ".match.id_property",
                       "is required for HubSpot (a unique property holding the primary key)", ""});
}

}  // namespace backflow::hubspot
