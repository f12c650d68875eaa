#include "destinations/braze/config.h"

#include <gtest/gtest.h>

#include "destinations/braze/braze.h"

namespace backflow {
namespace {

struct Parsed {
  std::shared_ptr<const DestinationSettings> settings;
  ConfigErrors errors;
};

Parsed Parse(const std::string& yaml) {
  Parsed p;
  EnvLookup env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "BRAZE_API_KEY") return "key-from-env";
    return std::nullopt;
  };
  YamlReader reader(YAML::Load(yaml), "destinations.braze", &p.errors, env);
  p.settings = BrazeDestinationType().ParseSettings(reader);
  reader.Finish();
  return p;
}

const BrazeSettings& AsBraze(const Parsed& p) {
  return static_cast<const BrazeSettings&>(*p.settings);
}

TEST(BrazeConfig, ReadsTheSpecExample) {
  Parsed p = Parse("base_url: https://rest.iad-01.braze.com/\napi_key: \"${BRAZE_API_KEY}\"\n");
  ASSERT_TRUE(p.errors.empty()) << p.errors[0].ToString();
  EXPECT_EQ(AsBraze(p).base_url, "https://rest.iad-01.braze.com");
  EXPECT_EQ(AsBraze(p).api_key.Reveal(), "key-from-env");
  EXPECT_FALSE(AsBraze(p).legacy_limits);

  p = Parse("base_url: https://rest.fra-02.braze.eu\napi_key: k\nlegacy_limits: true\n");
  ASSERT_TRUE(p.errors.empty());
  EXPECT_TRUE(AsBraze(p).legacy_limits);
}

TEST(BrazeConfig, AcceptsVendorAndSandboxUrlsOnly) {
  for (const char* ok : {"https://rest.iad-08.braze.com", "https://rest.us-10.braze.com",
                         "https://rest.au-01.braze.com", "http://127.0.0.1:18080",
                         "http://localhost", "http://localhost:9000"})
    EXPECT_FALSE(CheckBrazeBaseUrl(ok).has_value()) << ok;
  for (const char* bad : {"http://rest.iad-01.braze.com", "https://rest.iad-01.braze.com.evil.io",
                          "https://dashboard.braze.com", "https://example.com",
                          "http://10.0.0.1:8080", "rest.iad-01.braze.com"})
    EXPECT_TRUE(CheckBrazeBaseUrl(bad).has_value()) << bad;

  Parsed p = Parse("base_url: https://example.com\napi_key: k\n");
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_EQ(p.errors[0].path, "destinations.braze.base_url");
}

TEST(BrazeConfig, RequiresKeyAndUrlAndRefusesUnknownKeys) {
  Parsed p = Parse("legacy_limits: maybe\ntoken: x\n");
  std::set<std::string> paths;
  for (const auto& e : p.errors) paths.insert(e.path);
  EXPECT_TRUE(paths.count("destinations.braze.base_url"));
  EXPECT_TRUE(paths.count("destinations.braze.api_key"));
  EXPECT_TRUE(paths.count("destinations.braze.legacy_limits"));
  EXPECT_TRUE(paths.count("destinations.braze.token"));
  for (const auto& e : p.errors) EXPECT_EQ(e.message.find("key-from-env"), std::string::npos);
}

TEST(BrazeType, DefaultsAndSyncChecks) {
  const DestinationType& t = BrazeDestinationType();
  EXPECT_STREQ(t.type(), "braze");
  EXPECT_EQ(t.MaxBatchRecords(), 75u);
  EXPECT_EQ(t.DefaultRateLimit().requests, 3000);
  EXPECT_EQ(t.DefaultRateLimit().per, Millis(3000));

  DestinationConfig dest;
  SyncConfig sync;
  sync.object = "users";
  sync.fields = {{"ltv_segment", "segment"}, {"email", "email"}};
  sync.on_delete = OnDelete::kDelete;
  sync.mode = SyncMode::kUpdate;
  ConfigErrors errors;
  t.ValidateSync(dest, sync, "syncs.ltv", &errors);
  EXPECT_TRUE(errors.empty());

  sync.object = "contacts";
  sync.fields.push_back({"external_id", "user_id"});
  sync.id_property = "warehouse_id";
  t.ValidateSync(dest, sync, "syncs.ltv", &errors);
  std::set<std::string> paths;
  for (const auto& e : errors) paths.insert(e.path);
  EXPECT_EQ(paths, (std::set<std::string>{"syncs.ltv.object", "syncs.ltv.match",
                                          "syncs.ltv.fields.external_id"}));
}

TEST(BrazeType, CreatesADestinationFromConfig) {
  auto settings = std::make_shared<BrazeSettings>();
  settings->base_url = "http://127.0.0.1:1";
  settings->api_key = Secret("k");
  DestinationConfig config;
  config.type = "braze";
  config.settings = settings;
  auto d = BrazeDestinationType().Create(config);
  ASSERT_NE(d, nullptr);
  SyncConfig sync;
  EXPECT_EQ(d->MaxBatchRecords(sync), 75u);
  EXPECT_EQ(d->MaxDeleteRecords(), 50u);
}

}  // namespace
}  // namespace backflow
