#include "destinations/salesforce/jwt.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <nlohmann/json.hpp>

namespace backflow::salesforce {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

struct KeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyDeleter>;

KeyPtr ReadPrivateKey(const Secret& pem) {
  BIO* bio = BIO_new_mem_buf(pem.Reveal().data(), static_cast<int>(pem.Reveal().size()));
  if (bio == nullptr) return nullptr;
  // A null passphrase callback with an empty user pointer: encrypted keys fail to load
  // instead of prompting on the terminal.
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, const_cast<char*>(""));
  BIO_free(bio);
  return KeyPtr(key);
}

}  // namespace

std::string Base64UrlEncode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    uint32_t n = (uint8_t(data[i]) << 16) | (uint8_t(data[i + 1]) << 8) | uint8_t(data[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(n >> s) & 63];
  }
  if (i + 1 == data.size()) {
    uint32_t n = uint8_t(data[i]) << 16;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
  } else if (i + 2 == data.size()) {
    uint32_t n = (uint8_t(data[i]) << 16) | (uint8_t(data[i + 1]) << 8);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
  }
  return out;
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '-' || c == '+') v = 62;
    else if (c == '_' || c == '/') v = 63;
    else return std::nullopt;
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

Status CheckRsaPrivateKey(const Secret& pem) {
  KeyPtr key = ReadPrivateKey(pem);
  if (!key) return Status::InvalidConfig("not a readable (unencrypted) PEM private key");
  if (EVP_PKEY_base_id(key.get()) != EVP_PKEY_RSA)
    return Status::InvalidConfig("the private key is not an RSA key (RS256 needs one)");
  return Status::Ok();
}

Result<std::string> SignRs256(const Secret& pem, std::string_view data) {
  KeyPtr key = ReadPrivateKey(pem);
  if (!key) return Status::InvalidConfig("not a readable (unencrypted) PEM private key");
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return Status::Internal("out of memory signing the JWT");
  std::string sig;
  size_t len = 0;
  bool ok = EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key.get()) == 1 &&
            EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()),
                           data.size()) == 1;
  if (ok) {
    sig.resize(len);
    ok = EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                        reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
    sig.resize(len);
  }
  EVP_MD_CTX_free(ctx);
  if (!ok) return Status::InvalidConfig("OpenSSL could not sign the JWT with the private key");
  return sig;
}

Result<std::string> BuildJwtAssertion(const JwtClaims& claims, const Secret& pem) {
  const long long exp =
      std::chrono::duration_cast<std::chrono::seconds>(
          (claims.now + kJwtLifetime).time_since_epoch()).count();
  nlohmann::json body = {{"iss", claims.issuer},
                         {"sub", claims.subject},
                         {"aud", claims.audience},
                         {"exp", exp}};
  std::string signing_input =
      Base64UrlEncode(R"({"alg":"RS256"})") + "." + Base64UrlEncode(body.dump());
  Result<std::string> sig = SignRs256(pem, signing_input);
  if (!sig.ok()) return sig.status();
  return signing_input + "." + Base64UrlEncode(*sig);
}

}  // namespace backflow::salesforce
