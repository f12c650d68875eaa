// JWT bearer assertions for Salesforce's OAuth 2.0 JWT flow (RS256, OpenSSL EVP).
//
//   header {"alg":"RS256"}; claims {"iss":client_id,"sub":username,"aud":login_url,
//   "exp":now+3min}; base64url (no padding) header.claims.signature.
// Messages never contain key material.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "backflow/clock.h"
#include "backflow/secret.h"
#include "backflow/status.h"

namespace backflow::salesforce {

inline constexpr std::chrono::seconds kJwtLifetime{180};

std::string Base64UrlEncode(std::string_view data);
// nullopt on a character outside the base64url alphabet.
std::optional<std::string> Base64UrlDecode(std::string_view text);

// OK when `pem` holds an RSA private key OpenSSL can read.
[[nodiscard]] Status CheckRsaPrivateKey(const Secret& pem);

// The RS256 signature of `data` with the PEM private key.
[[nodiscard]] Result<std::string> SignRs256(const Secret& pem, std::string_view data);

struct JwtClaims {
  std::string issuer;    // client id
  std::string subject;   // username
  std::string audience;  // login URL
  WallTime now;          // exp = now + kJwtLifetime
};

// "<header>.<claims>.<signature>", ready for assertion=.
[[nodiscard]] Result<std::string> BuildJwtAssertion(const JwtClaims& claims, const Secret& pem);

}  // namespace backflow::salesforce
