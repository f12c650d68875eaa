// Helpers shared by the config tests.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "config/config.h"

namespace backflow::testing {

inline EnvLookup FakeEnv(std::map<std::string, std::string> vars = {
                             {"BACKFLOW_WAREHOUSE_DSN", "postgresql://u:hunter2@db/wh"},
                             {"HUBSPOT_TOKEN", "pat-secret-token"},
                             {"SF_CLIENT_ID", "client-id"},
                             {"SF_CLIENT_SECRET", "sf-secret"},
                             {"BRAZE_API_KEY", "braze-secret"},
                             {"BACKFLOW_SANDBOX_URL", "http://127.0.0.1:8089"}}) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// A valid config with one HubSpot destination and one sync; tests append to it or
// replace pieces of it.
inline std::string HubSpotYaml(const std::string& sync_extra = "",
                               const std::string& destination_extra = "") {
  return R"(
warehouse:
  dsn: "${BACKFLOW_WAREHOUSE_DSN}"
destinations:
  hubspot:
    type: hubspot
    token: "${HUBSPOT_TOKEN}"
)" + destination_extra + R"(
syncs:
  scores:
    destination: hubspot
    object: contacts
    model: { table: analytics.contacts }
    primary_key: user_id
    match: { id_property: warehouse_id }
    fields:
      warehouse_id: user_id
      email: email
      lead_score: score
)" + sync_extra;
}

// Every error, one per line (for assertion messages and substring checks).
inline std::string Joined(const ConfigErrors& errors) {
  std::string out;
  for (const auto& e : errors) out += e.ToString() + "\n";
  return out;
}

// Parses `yaml`, expecting failure; returns all errors joined.
inline std::string ErrorsOf(const std::string& yaml, EnvLookup env = FakeEnv()) {
  ConfigErrors errors;
  auto result = ParseConfigText(yaml, env, &errors);
  EXPECT_FALSE(result.ok()) << "expected the config to be rejected:\n" << yaml;
  if (!result.ok()) {
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidConfig);
    EXPECT_FALSE(errors.empty());
    if (!errors.empty()) {
      EXPECT_EQ(result.status().message(), errors.front().ToString());
    }
  }
  return Joined(errors);
}

}  // namespace backflow::testing
