#include <algorithm>
#include <cctype>

#include "config/sections.h"
#include "destinations/registry.h"

namespace backflow::config_internal {

bool IsPlainIdentifier(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  if (!(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

WarehouseConfig ParseWarehouse(YamlReader& reader) {
  WarehouseConfig out;
  if (auto dsn = reader.SecretString("dsn", /*required=*/true)) {
    if (dsn->empty()) reader.Error("dsn", "must not be empty");
    out.dsn = std::move(*dsn);
  }
  if (auto schema = reader.String("state_schema")) {
    if (IsPlainIdentifier(*schema))
      out.state_schema = *schema;
    else
      reader.Error("state_schema",
                   "must be a plain identifier (letters, digits, _; not starting with a digit), "
                   "got '" + *schema + "'");
  }
  reader.Finish();
  return out;
}

namespace {

bool ValidListen(const std::string& s) {
  size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size()) return false;
  std::string port = s.substr(colon + 1);
  if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
  int p = std::stoi(port);
  return p >= 1 && p <= 65535;
}

}  // namespace

ObservabilityConfig ParseObservability(YamlReader& reader) {
  ObservabilityConfig out;
  if (auto f = reader.OneOf("log_format", {"json", "text"})) out.log_format = *f;
  if (auto l = reader.OneOf("log_level", {"trace", "debug", "info", "warn", "error"}))
    out.log_level = *l;
  if (auto listen = reader.String("http_listen")) {
    if (ValidListen(*listen))
      out.http_listen = *listen;
    else
      reader.Error("http_listen", "expected host:port such as 127.0.0.1:9464, got '" + *listen +
                                      "'");
  }
  reader.Finish();
  return out;
}

std::optional<DestinationConfig> ParseDestination(const std::string& name, YamlReader& reader) {
  auto type_name = reader.String("type", /*required=*/true);
  if (!type_name) return std::nullopt;
  const DestinationType* type = FindDestinationType(*type_name);
  if (type == nullptr) {
    std::string known;
    for (const DestinationType* t : DestinationTypes())
      known += (known.empty() ? "" : " | ") + std::string(t->type());
    reader.Error("type", "unknown destination type '" + *type_name + "' (known: " + known + ")");
    return std::nullopt;  // its other keys mean nothing without a type
  }

  DestinationConfig out;
  out.name = name;
  out.type = type->type();
  out.rate_limit = type->DefaultRateLimit();
  out.max_concurrency = type->DefaultMaxConcurrency();
  out.batch_size = type->MaxBatchRecords();

  if (auto rl = reader.Map("rate_limit")) {
    auto requests = rl->Int("requests", 1, 1000000000, /*required=*/true);
    auto per = rl->Duration("per", /*required=*/true);
    auto burst = rl->Int("burst", 1, 1000000000);
    if (per && per->count() == 0) rl->Error("per", "must be longer than 0ms");
    if (requests) out.rate_limit.requests = *requests;
    if (per && per->count() > 0) out.rate_limit.per = *per;
    out.rate_limit.burst = burst;
    rl->Finish();
  }
  if (auto c = reader.Int("max_concurrency", 1, 1000)) out.max_concurrency = static_cast<int>(*c);
  // The API's maximum wins silently: asking for more is a wish, not a mistake.
  if (auto b = reader.Int("batch_size", 1, 1000000))
    out.batch_size = std::min(static_cast<size_t>(*b), type->MaxBatchRecords());
  if (auto t = reader.Duration("timeout")) {
    if (t->count() == 0) reader.Error("timeout", "must be longer than 0ms");
    else out.timeout = *t;
  }
  if (auto r = reader.Map("retry")) {
    if (auto a = r->Int("max_attempts", 1, 1000)) out.retry.max_attempts = static_cast<int>(*a);
    if (auto i = r->Duration("initial_backoff")) out.retry.initial_backoff = *i;
    if (auto m = r->Duration("max_backoff")) out.retry.max_backoff = *m;
    if (out.retry.initial_backoff > out.retry.max_backoff)
      r->ErrorHere("initial_backoff must not be longer than max_backoff");
    r->Finish();
  }

  out.settings = type->ParseSettings(reader);
  if (!out.settings) out.settings = std::make_shared<const DestinationSettings>();
  reader.Finish();
  return out;
}

}  // namespace backflow::config_internal
