#include "destinations/hubspot/config.h"

#include <gtest/gtest.h>

#include "destinations/hubspot/hubspot.h"
#include "destinations/hubspot/test_util.h"

namespace backflow::hubspot {
namespace {

struct Parsed {
  std::shared_ptr<const HubSpotSettings> settings;
  ConfigErrors errors;
};

Parsed Parse(const std::string& yaml, std::map<std::string, std::string> env = {}) {
  Parsed p;
  YamlReader reader(YAML::Load(yaml), "destinations.hubspot", &p.errors,
                    [env](const std::string& k) -> std::optional<std::string> {
                      auto it = env.find(k);
                      if (it == env.end()) return std::nullopt;
                      return it->second;
                    });
  p.settings = std::static_pointer_cast<const HubSpotSettings>(
      HubSpotDestinationType().ParseSettings(reader));
  reader.Finish();
  return p;
}

TEST(HubSpotConfig, DefaultsAndToken) {
  Parsed p = Parse("token: \"${HUBSPOT_TOKEN}\"\n", {{"HUBSPOT_TOKEN", "pat-123"}});
  ASSERT_TRUE(p.errors.empty()) << p.errors[0].ToString();
  EXPECT_EQ(p.settings->base_url, "https://api.hubapi.com");
  EXPECT_EQ(p.settings->token.Reveal(), "pat-123");
}

TEST(HubSpotConfig, BaseUrlLosesTrailingSlash) {
  Parsed p = Parse("base_url: http://127.0.0.1:8080/\ntoken: t\n");
  ASSERT_TRUE(p.errors.empty());
  EXPECT_EQ(p.settings->base_url, "http://127.0.0.1:8080");
}

TEST(HubSpotConfig, MissingTokenAndUnknownKeyAreErrors) {
  Parsed p = Parse("base_url: https://api.hubapi.com\ntokn: x\n");
  ASSERT_EQ(p.errors.size(), 2u);
  EXPECT_EQ(p.errors[0].path, "destinations.hubspot.token");
  EXPECT_EQ(p.errors[1].path, "destinations.hubspot.tokn");
  ASSERT_NE(p.settings, nullptr);
}

TEST(HubSpotConfig, BadBaseUrl) {
  Parsed p = Parse("base_url: api.hubapi.com\ntoken: t\n");
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_EQ(p.errors[0].path, "destinations.hubspot.base_url");
}

TEST(HubSpotConfig, TypeDefaults) {
  const DestinationType& type = HubSpotDestinationType();
  EXPECT_STREQ(type.type(), "hubspot");
  EXPECT_EQ(type.MaxBatchRecords(), 100u);
  EXPECT_EQ(type.DefaultRateLimit().requests, 100);
  EXPECT_EQ(type.DefaultRateLimit().per, Millis(10000));
}

TEST(HubSpotConfig, ValidateSyncNeedsIdPropertyAndObject) {
  DestinationConfig dest;
  SyncConfig sync = testing::ContactsSync();
  ConfigErrors errors;
  HubSpotDestinationType().ValidateSync(dest, sync, "syncs.contacts_sync", &errors);
  EXPECT_TRUE(errors.empty());

  sync.id_property.reset();
  sync.object.clear();
  HubSpotDestinationType().ValidateSync(dest, sync, "syncs.contacts_sync", &errors);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].path, "syncs.contacts_sync.object");
  EXPECT_EQ(errors[1].path, "syncs.contacts_sync.match.id_property");
}

TEST(HubSpotConfig, CreateMakesADestination) {
  DestinationConfig dest;
  dest.name = "hubspot";
  dest.type = "hubspot";
  auto settings = std::make_shared<HubSpotSettings>();
  settings->token = Secret("t");
  dest.settings = settings;
  auto d = HubSpotDestinationType().Create(dest);
  ASSERT_NE(d, nullptr);
  SyncConfig sync = testing::ContactsSync();
  EXPECT_EQ(d->MaxBatchRecords(sync), 100u);
  EXPECT_TRUE(d->UpdateNeedsDestinationId());
}

}  // namespace
}  // namespace backflow::hubspot
