#include "destinations/braze/response_classifier.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <nlohmann/json.hpp>
#include <optional>

#include "backflow/config.h"
#include "destinations/braze/config.h"

namespace backflow {
namespace {

using nlohmann::json;

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

json ParseBody(const std::string& body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? json::object() : j;
}

std::string MessageOf(const json& body) {
  if (body.is_object() && body.contains("message") && body["message"].is_string())
    return body["message"].get<std::string>();
  return "";
}

std::optional<long long> HeaderInt(const HttpResponse& response, const char* name) {
  auto v = response.Header(name);
  if (!v) return std::nullopt;
  long long n = 0;
  const char* begin = v->data();
  while (begin < v->data() + v->size() && *begin == ' ') ++begin;
  auto [p, ec] = std::from_chars(begin, v->data() + v->size(), n);
  if (ec != std::errc() || p == begin) return std::nullopt;
  return n;
}

// The errors of an "errors" array that name an index of the attributes array, by index.
// Errors for other arrays or without an index cannot be tied to a record and are dropped.
std::vector<std::vector<std::string>> IndexedErrors(const json& body, size_t count) {
  std::vector<std::vector<std::string>> out(count);
  if (!body.is_object() || !body.contains("errors") || !body["errors"].is_array()) return out;
  for (const json& e : body["errors"]) {
    if (!e.is_object() || !e.contains("index") || !e["index"].is_number_integer()) continue;
    if (e.contains("input_array") && e["input_array"] != "attributes") continue;
    long long i = e["index"].get<long long>();
    if (i < 0 || static_cast<size_t>(i) >= count) continue;
    std::string type = e.contains("type") && e["type"].is_string() ? e["type"].get<std::string>()
                                                                   : "rejected by Braze";
    out[static_cast<size_t>(i)].push_back(std::move(type));
  }
  return out;
}

bool AnyIndexed(const std::vector<std::vector<std::string>>& errors) {
  return std::any_of(errors.begin(), errors.end(), [](const auto& e) { return !e.empty(); });
}

std::string Join(const std::vector<std::string>& parts) {
  std::string s;
  for (const auto& p : parts) s += (s.empty() ? "" : "; ") + p;
  return s;
}

// The whole-request answers shared by /users/track and /users/delete; nullopt for 2xx
// and for a 400 that names records (the caller maps those).
std::optional<BatchResult> ClassifyWholeRequest(const HttpResponse& response, const json& body,
                                                const std::string& host, bool names_records,
                                                const std::string& limit) {
  if (response.error != TransportError::kNone) return ClassifyCommonFailure(response);
  const int code = response.status;
  if (code >= 200 && code < 300) return std::nullopt;
  BatchResult r;
  const std::string message = MessageOf(body);
  if (code == 400) {
    const std::string lower = Lower(message);
    if (lower.find("max input length") != std::string::npos ||
        lower.find("too many") != std::string::npos) {
      r.verdict = Verdict::kFatal;
      r.category = "BRAZE_REQUEST_TOO_LARGE";
      r.reason = "Braze refused the request as too large (" + message + ").";
      r.status =
          Status::Internal("backflow built a Braze request over the " + limit + " limit: a bug");
      return r;
    }
    if (names_records) return std::nullopt;
    r.verdict = Verdict::kSplit;
    r.category = "HTTP_400";
    r.reason =
        "Braze refused the request (HTTP 400" + (message.empty() ? "" : ": " + message) + ").";
    return r;
  }
  if (code == 401 || code == 403 || code == 404) {
    r.verdict = Verdict::kFatal;
    r.category = "AUTH_REFUSED";
    r.reason = "Braze refused the REST API key (HTTP " + std::to_string(code) + ") at " + host;
    r.status = Status::AuthRefused(r.reason);
    return r;
  }
  if (code == 429) {
    r.verdict = Verdict::kRetry;
    r.rate_limited = true;
    r.category = "RATE_LIMIT";
    r.reason = "Braze rate limit reached (HTTP 429).";
    return r;
  }
  return ClassifyCommonFailure(response);
}

}  // namespace

std::string HostOf(const std::string& url) {
  size_t start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  size_t end = url.find('/', start);
  return url.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

bool BrazeErrorMeansUnknownUser(const std::string& type) {
  const std::string t = Lower(type);
  for (const char* needle :
       {"not found", "does not exist", "unknown user", "unknown external", "no user"})
    if (t.find(needle) != std::string::npos) return true;
  return false;
}

BatchResult ClassifyBrazeTrack(const RecordBatch& batch, const HttpResponse& response,
                               const std::string& host) {
  const json body = ParseBody(response.body);
  const size_t n = batch.records.size();
  const auto errors = IndexedErrors(body, n);
  if (auto whole = ClassifyWholeRequest(response, body, host, AnyIndexed(errors),
                                        std::to_string(kBrazeMaxTrackObjects) + "-object"))
    return *whole;

  const bool update_only = batch.sync != nullptr && batch.sync->mode == SyncMode::kUpdate;
  const bool applied = response.status >= 200 && response.status < 300;
  BatchResult r;
  r.records.resize(n);
  for (size_t i = 0; i < n; ++i) {
    RecordOutcome& o = r.records[i];
    if (errors[i].empty()) {
      if (applied) {
        o.kind = OutcomeKind::kDelivered;
        o.destination_id = batch.records[i].warehouse_id;
      } else {
        // A 400 naming other records applied nothing: this one goes again.
        o.kind = OutcomeKind::kRetryable;
        o.category = "NOT_APPLIED";
        o.reason = "Braze refused the request because of other records in it.";
      }
      continue;
    }
    const bool unknown_user =
        std::all_of(errors[i].begin(), errors[i].end(), BrazeErrorMeansUnknownUser);
    if (update_only && unknown_user) {
      o.kind = OutcomeKind::kSkipped;
      o.category = "USER_NOT_FOUND";
      o.reason = "mode: update and Braze has no user with this external_id";
    } else {
      o.kind = OutcomeKind::kPermanent;
      o.category = "BRAZE_OBJECT_ERROR";
      o.reason = Join(errors[i]);
    }
  }
  return r;
}

BatchResult ClassifyBrazeDelete(const std::vector<std::string>& external_ids,
                                const HttpResponse& response, const std::string& host) {
  const json body = ParseBody(response.body);
  if (auto whole = ClassifyWholeRequest(response, body, host, /*names_records=*/false,
                                        std::to_string(kBrazeMaxDeleteIds) + "-id"))
    return *whole;
  // {"deleted":N} does not say which: fewer than asked means some were already gone,
  // which is what a delete wants.
  BatchResult r;
  r.records.resize(external_ids.size());
  for (size_t i = 0; i < external_ids.size(); ++i) {
    r.records[i].kind = OutcomeKind::kDelivered;
    r.records[i].destination_id = external_ids[i];
  }
  return r;
}

RateLimitHints ReadBrazeRateLimit(const HttpResponse& response) {
  RateLimitHints h;
  h.limit = HeaderInt(response, "X-RateLimit-Limit");
  h.remaining = HeaderInt(response, "X-RateLimit-Remaining");
  if (auto reset = HeaderInt(response, "X-RateLimit-Reset"))
    h.reset_at = WallTime(std::chrono::seconds(*reset));
  return h;
}

}  // namespace backflow
