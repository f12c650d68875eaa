#include "source/redact.h"

#include <libpq-fe.h>

#include <cctype>
#include <cstring>

#include "backflow/secret.h"

namespace backflow {
namespace {

bool StartsWithNoCase(const std::string& s, size_t pos, const char* word) {
  size_t n = std::strlen(word);
  if (pos + n > s.size()) return false;
  for (size_t i = 0; i < n; ++i)
    if (std::tolower(static_cast<unsigned char>(s[pos + i])) != word[i]) return false;
  return true;
}

// "password = 'it''s'" / "password=secret": returns the index just past the value.
size_t SkipKeyValue(const std::string& s, size_t pos) {
  while (pos < s.size() && s[pos] == ' ') ++pos;
  if (pos < s.size() && s[pos] == '\'') {
    ++pos;
    while (pos < s.size()) {
      if (s[pos] == '\\' && pos + 1 < s.size()) {
        pos += 2;
      } else if (s[pos] == '\'' && pos + 1 < s.size() && s[pos + 1] == '\'') {
        pos += 2;  // '' inside quotes: be generous, libpq itself uses \'
      } else if (s[pos] == '\'') {
        return pos + 1;
      } else {
        ++pos;
      }
    }
    return pos;
  }
  while (pos < s.size() && !std::isspace(static_cast<unsigned char>(s[pos])) && s[pos] != '"' &&
         s[pos] != '&')
    ++pos;
  return pos;
}

}  // namespace

ParsedDsn ParseDsn(const std::string& dsn) {
  ParsedDsn out;
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(dsn.c_str(), &err);
  if (err != nullptr) PQfreemem(err);  // it may quote the DSN: never surfaced
  if (opts == nullptr) return out;
  out.valid = true;
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    if (std::strcmp(o->keyword, "password") == 0) out.password = o->val;
    if (std::strcmp(o->keyword, "application_name") == 0 && o->val[0] != '\0')
      out.has_application_name = true;
  }
  PQconninfoFree(opts);
  return out;
}

std::string RedactDsnPasswords(const std::string& message) {
  std::string out;
  size_t i = 0;
  while (i < message.size()) {
    if (StartsWithNoCase(message, i, "password")) {
      size_t j = i + 8;
      while (j < message.size() && message[j] == ' ') ++j;
      if (j < message.size() && message[j] == '=') {
        out += "password=";
        out += Secret::kRedacted;
        i = SkipKeyValue(message, j + 1);
        continue;
      }
    }
    if (message.compare(i, 3, "://") == 0) {
      // scheme://user:password@host -> scheme://user:***@host
      size_t at = message.find('@', i + 3);
      size_t end = i + 3;
      while (end < message.size() && !std::isspace(static_cast<unsigned char>(message[end])) &&
             message[end] != '/' && message[end] != '"')
        ++end;
      if (at != std::string::npos && at < end) {
        size_t colon = message.find(':', i + 3);
        if (colon != std::string::npos && colon < at) {
          out += message.substr(i, colon + 1 - i);
          out += Secret::kRedacted;
          i = at;
          continue;
        }
      }
    }
    out += message[i++];
  }
  return out;
}

std::string RedactSecrets(const std::string& message, const std::vector<std::string>& secrets) {
  std::string out = RedactDsnPasswords(message);
  for (const std::string& secret : secrets) {
    if (secret.empty()) continue;
    size_t pos = 0;
    while ((pos = out.find(secret, pos)) != std::string::npos) {
      out.replace(pos, secret.size(), Secret::kRedacted);
      pos += std::strlen(Secret::kRedacted);
    }
  }
  return out;
}

std::string TrimMessage(const std::string& message) {
  std::string out;
  out.reserve(message.size());
  for (char c : message) out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace backflow
