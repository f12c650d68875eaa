// Small out-of-line pieces of the public vocabulary (http.h, record.h, destination.h).
#include <strings.h>

#include "backflow/config.h"
#include "backflow/destination.h"
#include "backflow/http.h"
#include "backflow/record.h"

namespace backflow {

std::optional<std::string> FindHeader(const HttpHeaders& headers, std::string_view name) {
  for (const auto& [k, v] : headers)
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
  return std::nullopt;
}

std::string FieldValue::AsIso8601() const {
  // Postgres renders timestamptz as "2026-01-02 03:04:05.123+00" (DateStyle ISO).
  std::string s = text;
  if (s.size() > 10 && s[10] == ' ') s[10] = 'T';
  if (s.size() >= 3) {
    // "+00" -> "Z"; "+05:30" stays; "+05" -> "+05:00".
    size_t tz = s.find_last_of("+-");
    if (tz != std::string::npos && tz > 10) {
      std::string zone = s.substr(tz);
      if (zone == "+00" || zone == "+00:00") s = s.substr(0, tz) + "Z";
      else if (zone.size() == 3) s += ":00";
    }
  }
  return s;
}

const char* OutcomeKindName(OutcomeKind kind) {
  switch (kind) {
    case OutcomeKind::kDelivered: return "delivered";
    case OutcomeKind::kRetryable: return "retryable";
    case OutcomeKind::kPermanent: return "permanent";
    case OutcomeKind::kSkipped: return "skipped";
  }
  return "unknown";
}

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kSuccessful: return "successful";
    case Verdict::kRetry: return "retry";
    case Verdict::kSplit: return "split";
    case Verdict::kReauthenticate: return "reauthenticate";
    case Verdict::kPause: return "pause";
    case Verdict::kFatal: return "fatal";
  }
  return "unknown";
}

HttpRequest Destination::BuildDelete(const SyncConfig& /*sync*/,
                                     const std::vector<std::string>& /*destination_ids*/) const {
  return {};
}

BatchResult Destination::ClassifyDelete(const std::vector<std::string>& /*destination_ids*/,
                                        const HttpResponse& response) const {
  return ClassifyCommonFailure(response);
}

BatchResult ClassifyCommonFailure(const HttpResponse& response) {
  BatchResult r;
  if (response.error != TransportError::kNone) {
    r.verdict = Verdict::kRetry;
    switch (response.error) {
      case TransportError::kConnect: r.category = "CONNECT_FAILED"; break;
      case TransportError::kTimeout: r.category = "TIMEOUT"; break;
      case TransportError::kDropped: r.category = "CONNECTION_DROPPED"; break;
      default: r.category = "TRANSPORT_ERROR"; break;
    }
    r.reason = response.error_message.empty() ? r.category : response.error_message;
    return r;
  }
  const int code = response.status;
  r.category = "HTTP_" + std::to_string(code);
  if (code == 408 || code == 429 || code >= 500) {
    r.verdict = Verdict::kRetry;
    r.rate_limited = code == 429;
    if (auto ra = response.Header("Retry-After")) {
      char* end = nullptr;
      double secs = std::strtod(ra->c_str(), &end);
      if (end != ra->c_str() && secs >= 0) r.retry_after = Millis(static_cast<long long>(secs * 1000));
    }
    r.reason = "HTTP " + std::to_string(code);
  } else if (code == 401 || code == 403) {
    r.verdict = Verdict::kFatal;
    r.reason = "HTTP " + std::to_string(code) + ": credentials refused";
    r.status = Status::AuthRefused(r.reason);
  } else if (code >= 400) {
    r.verdict = Verdict::kSplit;
    r.reason = "HTTP " + std::to_string(code) + " refused the request";
  } else {
    r.verdict = Verdict::kFatal;
    r.reason = "unexpected HTTP " + std::to_string(code);
    r.status = Status::Internal(r.reason);
  }
  return r;
}

std::string SyncConfig::ModelRelation() const {
  if (model_sql) return "(" + *model_sql + ")";
  return model_table.value_or("");
}

}  // namespace backflow
