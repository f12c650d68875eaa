// The emulator's OAuth 2.0 token endpoint: client_credentials, refresh_token, jwt-bearer.
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <chrono>

#include "destinations/salesforce/emulator.h"
#include "destinations/salesforce/emulator_state.h"

namespace backflow::salesforce {

using nlohmann::json;

namespace {

std::map<std::string, std::string> ParseForm(const std::string& body) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos <= body.size()) {
    size_t amp = body.find('&', pos);
    if (amp == std::string::npos) amp = body.size();
    std::string pair = body.substr(pos, amp - pos);
    size_t eq = pair.find('=');
    if (!pair.empty())
      out[httplib::detail::decode_url(pair.substr(0, eq), true)] =
          eq == std::string::npos ? "" : httplib::detail::decode_url(pair.substr(eq + 1), true);
    pos = amp + 1;
  }
  return out;
}

std::optional<std::string> DecodeBase64Url(std::string text) {
  for (char& c : text) {
    if (c == '-') c = '+';
    else if (c == '_') c = '/';
  }
  while (text.size() % 4) text += '=';
  std::string out(text.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  size_t pad = 0;
  for (size_t i = text.size(); i > 0 && text[i - 1] == '='; --i) ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

bool VerifyRs256(const std::string& public_pem, const std::string& data, const std::string& sig) {
  BIO* bio = BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size()));
  if (bio == nullptr) return false;
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (key == nullptr) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx != nullptr &&
            EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                             reinterpret_cast<const unsigned char*>(data.data()),
                             data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  return ok;
}

// Why the assertion is refused, or "" when it is good.
std::string CheckAssertion(const std::string& jwt, const std::string& public_pem,
                           const std::string& client_id, const std::string& username,
                           const std::string& base_url, WallTime now_time) {
  if (public_pem.empty()) return "no certificate is configured for the connected app";
  size_t d1 = jwt.find('.');
  size_t d2 = d1 == std::string::npos ? d1 : jwt.find('.', d1 + 1);
  if (d2 == std::string::npos) return "malformed assertion";
  auto header = DecodeBase64Url(jwt.substr(0, d1));
  auto claims = DecodeBase64Url(jwt.substr(d1 + 1, d2 - d1 - 1));
  auto sig = DecodeBase64Url(jwt.substr(d2 + 1));
  if (!header || !claims || !sig) return "malformed assertion";
  json h = json::parse(*header, nullptr, false);
  json c = json::parse(*claims, nullptr, false);
  if (!h.is_object() || h.value("alg", "") != "RS256") return "algorithm must be RS256";
  if (!VerifyRs256(public_pem, jwt.substr(0, d2), *sig)) return "invalid signature";
  if (!c.is_object()) return "malformed claims";
  if (c.value("iss", "") != client_id) return "client identifier invalid";
  if (c.value("sub", "") != username) return "user hasn't approved this consumer";
  const std::string aud = c.value("aud", "");
  if (aud != base_url && aud != "https://login.salesforce.com" &&
      aud != "https://test.salesforce.com")
    return "audience is invalid";
  if (!c.contains("exp") || !c["exp"].is_number()) return "expiration is missing";
  const long long now =
      std::chrono::duration_cast<std::chrono::seconds>(now_time.time_since_epoch()).count();
  if (c["exp"].get<long long>() <= now) return "expired authorization code";
  return "";
}

}  // namespace

std::string SalesforceEmulator::IssueToken() {
  ++store_->tokens_issued;
  // "00D<org>!<session>", the shape of a real session id; unique per issue.
  std::string token = "00DSANDBOX0000001!AQ" + std::to_string(options_->seed) + "x" +
                      std::to_string(store_->tokens_issued) + "x" +
                      EmulatorRecordId("Token", std::to_string(store_->tokens_issued));
  store_->tokens[token] = clock_->Now() + options_->token_ttl;
  return token;
}

void SalesforceEmulator::HandleToken(const httplib::Request& req, httplib::Response& res) {
  auto form = ParseForm(req.body);
  auto field = [&](const char* k) {
    auto it = form.find(k);
    return it == form.end() ? std::string() : it->second;
  };
  const std::string grant = field("grant_type");
  const std::string base_url = sandbox_ ? sandbox_->base_url() : "";
  std::lock_guard<std::mutex> lock(mu_);
  const Options& o = *options_;
  std::string refusal;
  if (grant == "client_credentials") {
    if (field("client_id") != o.client_id || field("client_secret") != o.client_secret)
      refusal = "authentication failure";
  } else if (grant == "refresh_token") {
    if (field("client_id") != o.client_id || field("client_secret") != o.client_secret ||
        field("refresh_token") != o.refresh_token)
      refusal = "authentication failure";
  } else if (grant == "urn:ietf:params:oauth:grant-type:jwt-bearer") {
    refusal = CheckAssertion(field("assertion"), o.public_key_pem, o.client_id, o.username,
                             base_url, clock_->WallNow());
  } else {
    SendJson(res, 400, {{"error", "unsupported_grant_type"},
                        {"error_description", "grant type not supported"}});
    return;
  }
  if (!refusal.empty()) {
    SendJson(res, 400, {{"error", "invalid_grant"}, {"error_description", refusal}});
    return;
  }
  const long long issued_at = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  clock_->WallNow().time_since_epoch()).count();
  SendJson(res, 200, {{"access_token", IssueToken()},
                      {"instance_url", base_url},
                      {"id", base_url + "/id/00DSANDBOX0000001/005SANDBOX0000001"},
                      {"token_type", "Bearer"},
                      {"issued_at", std::to_string(issued_at)},
                      {"signature", "c2FuZGJveA=="}});
}

}  // namespace backflow::salesforce
