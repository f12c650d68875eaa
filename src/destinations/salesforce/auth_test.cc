// OAuth token requests, the JWT bearer assertion, token answers and the YAML settings.
#include "destinations/salesforce/auth.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "destinations/salesforce/jwt.h"
#include "destinations/salesforce/test_util.h"

namespace backflow::salesforce {
namespace {

using nlohmann::json;
using namespace testing;

bool VerifyWithPublicKey(const std::string& public_pem, const std::string& data,
                         const std::string& sig) {
  BIO* bio = BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                             reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  return ok;
}

TEST(JwtTest, AssertionCarriesTheClaimsAndVerifiesWithThePublicKey) {
  KeyPair keys = GenerateRsaKey();
  ManualClock clock;
  JwtClaims claims{"client-1", "integration@example.com", "https://login.salesforce.com",
                   clock.WallNow()};
  auto jwt = BuildJwtAssertion(claims, Secret(keys.private_pem));
  ASSERT_TRUE(jwt.ok()) << jwt.status().ToString();
  size_t d1 = jwt->find('.'), d2 = jwt->rfind('.');
  ASSERT_NE(d1, d2);
  json header = json::parse(*Base64UrlDecode(jwt->substr(0, d1)));
  json body = json::parse(*Base64UrlDecode(jwt->substr(d1 + 1, d2 - d1 - 1)));
  EXPECT_EQ(header, json({{"alg", "RS256"}}));
  EXPECT_EQ(body["iss"], "client-1");
  EXPECT_EQ(body["sub"], "integration@example.com");
  EXPECT_EQ(body["aud"], "https://login.salesforce.com");
  const long long now =
      std::chrono::duration_cast<std::chrono::seconds>(clock.WallNow().time_since_epoch()).count();
  EXPECT_EQ(body["exp"].get<long long>(), now + 180);
  EXPECT_EQ(jwt->find_first_of("+/="), std::string::npos);  // base64url, unpadded
  std::string sig = *Base64UrlDecode(jwt->substr(d2 + 1));
  EXPECT_TRUE(VerifyWithPublicKey(keys.public_pem, jwt->substr(0, d2), sig));
  EXPECT_FALSE(VerifyWithPublicKey(GenerateRsaKey().public_pem, jwt->substr(0, d2), sig));
}

TEST(JwtTest, Base64UrlRoundTrips) {
  for (const std::string& s : std::vector<std::string>{"", "f", "fo", "foo", "foob",
                                                        std::string("\xff\xfe\x00\x01", 4)})
    EXPECT_EQ(Base64UrlDecode(Base64UrlEncode(s)), s);
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_FALSE(CheckRsaPrivateKey(Secret("not a key")).ok());
}

TEST(TokenRequestTest, EachFlowSendsItsForm) {
  SalesforceSettings s;
  s.login_url = "https://login.example.com";
  s.client_id = "cid";
  s.client_secret = Secret("s&cret");
  s.refresh_token = Secret("rt");
  auto cc = BuildTokenRequest(s, WallTime());
  ASSERT_TRUE(cc.ok());
  EXPECT_EQ(cc->method, "POST");
  EXPECT_EQ(cc->url, "https://login.example.com/services/oauth2/token");
  EXPECT_EQ(FindHeader(cc->headers, "Content-Type").value_or(""),
            "application/x-www-form-urlencoded");
  EXPECT_EQ(cc->body, "grant_type=client_credentials&client_id=cid&client_secret=s%26cret");
  s.flow = SalesforceAuthFlow::kRefreshToken;
  EXPECT_EQ(BuildTokenRequest(s, WallTime())->body,
            "grant_type=refresh_token&client_id=cid&client_secret=s%26cret&refresh_token=rt");
  s.flow = SalesforceAuthFlow::kJwtBearer;
  s.username = "u@example.com";
  s.private_key_pem = Secret(GenerateRsaKey().private_pem);
  auto jwt = BuildTokenRequest(s, WallTime());
  ASSERT_TRUE(jwt.ok());
  EXPECT_EQ(jwt->body.rfind("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"
                            "&assertion=ey", 0), 0u) << jwt->body;
}

TEST(TokenResponseTest, StoresTheSessionOrSaysWhyWithoutTheSecret) {
  auto settings = std::make_shared<SalesforceSettings>();
  settings->login_url = "https://login.example.com";
  settings->client_id = "cid";
  settings->client_secret = Secret("hunter2-secret");
  ManualClock clock;
  SessionHolder holder(settings, &clock);
  HttpRequest req = holder.BuildRequest();
  EXPECT_NE(req.body.find("hunter2-secret"), std::string::npos);

  Status refused = holder.Accept(Json(
      400, R"({"error":"invalid_grant","error_description":"authentication failure"})"));
  EXPECT_EQ(refused.code(), StatusCode::kAuthRefused);
  EXPECT_EQ(refused.message(),
            "Salesforce refused the client_credentials token request at "
            "https://login.example.com: authentication failure");
  EXPECT_EQ(refused.message().find("hunter2"), std::string::npos);
  EXPECT_TRUE(holder.Current().instance_url.empty());

  EXPECT_EQ(holder.Accept(Json(503, "")).code(), StatusCode::kUnavailable);
  EXPECT_EQ(holder.Accept(Json(200, R"({"token_type":"Bearer"})")).code(), StatusCode::kFailed);

  ASSERT_TRUE(holder.Accept(Json(200, R"({"access_token":"00D!abc","instance_url":"https://x.my/",
                                          "token_type":"Bearer"})")).ok());
  EXPECT_EQ(holder.Current().access_token.Reveal(), "00D!abc");
  EXPECT_EQ(holder.Current().instance_url, "https://x.my");
}

ConfigErrors Parse(const std::string& yaml, std::shared_ptr<const SalesforceSettings>* out) {
  ConfigErrors errors;
  YamlReader reader(YAML::Load(yaml), "destinations.sfdc", &errors,
                    [](const std::string& name) -> std::optional<std::string> {
                      if (name == "SF_SECRET") return "from-env";
                      return std::nullopt;
                    });
  *out = ParseSettings(reader);
  reader.Finish();
  return errors;
}

TEST(SettingsTest, ParsesEveryKeyWithDefaults) {
  std::shared_ptr<const SalesforceSettings> s;
  ConfigErrors errors = Parse(R"(
login_url: https://test.salesforce.com/
auth: { flow: client_credentials, client_id: cid, client_secret: "${SF_SECRET}" }
)", &s);
  EXPECT_TRUE(errors.empty()) << errors[0].ToString();
  EXPECT_EQ(s->login_url, "https://test.salesforce.com");
  EXPECT_EQ(s->api_version, "v60.0");
  EXPECT_EQ(s->client_secret.Reveal(), "from-env");
  EXPECT_DOUBLE_EQ(s->daily_quota_share, 0.5);
  EXPECT_EQ(s->bulk_threshold, 10000u);

  errors = Parse(R"(
api_version: "v61.0"
daily_quota_share: 80%
bulk_threshold: 500
auth: { flow: refresh_token, client_id: cid, client_secret: x, refresh_token: r }
)", &s);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(s->flow, SalesforceAuthFlow::kRefreshToken);
  EXPECT_DOUBLE_EQ(s->daily_quota_share, 0.8);
  EXPECT_EQ(s->bulk_threshold, 500u);
}

TEST(SettingsTest, ReportsErrorsWithPaths) {
  std::shared_ptr<const SalesforceSettings> s;
  ConfigErrors errors = Parse(R"(
api_version: "60"
bogus: 1
auth: { flow: jwt_bearer, client_id: cid, private_key_file: /nonexistent/key.pem }
)", &s);
  std::set<std::string> paths;
  for (const ConfigError& e : errors) paths.insert(e.path);
  EXPECT_TRUE(paths.count("destinations.sfdc.api_version"));
  EXPECT_TRUE(paths.count("destinations.sfdc.bogus"));
  EXPECT_TRUE(paths.count("destinations.sfdc.auth.username"));
  EXPECT_TRUE(paths.count("destinations.sfdc.auth.private_key_file"));

  std::string key_path = ::testing::TempDir() + "/sf_test_key.pem";
  std::ofstream(key_path) << GenerateRsaKey().private_pem;
  errors = Parse("auth: { flow: jwt_bearer, client_id: cid, username: u@x.com, private_key_file: " +
                     key_path + " }\n", &s);
  EXPECT_TRUE(errors.empty()) << errors[0].ToString();
  EXPECT_FALSE(s->private_key_pem.empty());
  std::remove(key_path.c_str());

  SyncConfig sync = LeadSync();
  sync.external_id_field.reset();
  ConfigErrors sync_errors;
  ValidateSync(sync, "syncs.lead_scores", &sync_errors);
  ASSERT_EQ(sync_errors.size(), 1u);
  EXPECT_EQ(sync_errors[0].path, "syncs.lead_scores.match.external_id_field");
}

}  // namespace
}  // namespace backflow::salesforce
