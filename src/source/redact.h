// Keeping credentials out of the messages libpq and libpqxx produce.
//
// libpq quotes pieces of the connection string in some errors (a bad option, a parse
// failure), so every message that leaves source/ goes through these first.
#pragma once

#include <string>
#include <vector>

namespace backflow {

struct ParsedDsn {
  bool valid = false;              // libpq could parse it
  std::string password;            // empty when the DSN has none
  bool has_application_name = false;
};

// Parses a libpq key=value string or URI without connecting.
ParsedDsn ParseDsn(const std::string& dsn);

// Replaces every "password=..." (key=value form, quoted or not) and the password of a
// "postgres://user:password@host" URI with "***".
std::string RedactDsnPasswords(const std::string& message);

// RedactDsnPasswords, then every non-empty occurrence of each secret replaced by "***".
std::string RedactSecrets(const std::string& message, const std::vector<std::string>& secrets);

// Drops trailing whitespace/newlines and collapses the message onto one line.
std::string TrimMessage(const std::string& message);

}  // namespace backflow
