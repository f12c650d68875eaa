#include "destinations/salesforce/response_classifier.h"

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>

namespace backflow::salesforce {
namespace {

using nlohmann::json;

std::string Str(const json& j, const char* key) {
  if (j.is_object() && j.contains(key) && j[key].is_string()) return j[key].get<std::string>();
  return "";
}

// Codes whose message quotes the record's value ("Email: data value too large: <value>").
bool EchoesValue(const std::string& code) {
  static const std::set<std::string> kCodes = {
      "STRING_TOO_LONG",          "INVALID_EMAIL_ADDRESS",
      "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "INVALID_TYPE_ON_FIELD_IN_RECORD",
      "NUMBER_OUTSIDE_VALID_RANGE", "MALFORMED_ID", "JSON_PARSER_ERROR", "INVALID_FIELD_FOR_INSERT_UPDATE"};
  return kCodes.count(code) > 0;
}

RecordOutcome FailureOutcome(const json& result) {
  RecordOutcome o;
  json error = json::object();
  if (result.contains("errors") && result["errors"].is_array() && !result["errors"].empty())
    error = result["errors"][0];
  std::string code = Str(error, "statusCode");
  if (code.empty()) code = "UNKNOWN_ERROR";
  std::string fields;
  if (error.is_object() && error.contains("fields") && error["fields"].is_array())
    for (const json& f : error["fields"])
      if (f.is_string()) fields += (fields.empty() ? "" : ", ") + f.get<std::string>();
  o.kind = IsRetryableStatusCode(code) ? OutcomeKind::kRetryable : OutcomeKind::kPermanent;
  o.category = code;
  o.reason = code;
  if (!fields.empty()) o.reason += " on " + fields;
  std::string message = Str(error, "message");
  if (!message.empty() && !EchoesValue(code)) {
    if (message.size() > 200) message = message.substr(0, 200) + "...";
    o.reason += ": " + message;
  }
  return o;
}

// The first errorCode/message of a [{"message","errorCode"}] body.
std::pair<std::string, std::string> FirstError(const json& body) {
  if (body.is_array() && !body.empty())
    return {Str(body[0], "errorCode"), Str(body[0], "message")};
  if (body.is_object()) return {Str(body, "errorCode"), Str(body, "message")};
  return {"", ""};
}

}  // namespace

bool IsRetryableStatusCode(const std::string& code) {
  static const std::set<std::string> kRetryable = {
      "UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "REQUEST_RUNNING_TOO_LONG",
      "ALL_OR_NONE_OPERATION_ROLLED_BACK", "QUERY_TIMEOUT", "TXN_SECURITY_METERING_ERROR"};
  return kRetryable.count(code) > 0;
}

BatchResult ClassifyRequestFailure(const HttpResponse& response) {
  if (response.error != TransportError::kNone) return ClassifyCommonFailure(response);
  json body = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  auto [code, message] = FirstError(body);
  BatchResult r;
  if (response.status == 401 && (code == "INVALID_SESSION_ID" || code.empty())) {
    r.verdict = Verdict::kReauthenticate;
    r.category = "INVALID_SESSION_ID";
    r.reason = "the Salesforce session expired";
    return r;
  }
  if (response.status == 403 && code == "REQUEST_LIMIT_EXCEEDED") {
    r.verdict = Verdict::kPause;
    r.category = code;
    r.reason = "Salesforce's API request limit is used up" +
               (message.empty() ? std::string() : ": " + message);
    return r;
  }
  if (response.status == 400 && !code.empty()) {
    r.verdict = Verdict::kSplit;
    r.category = code;
    r.reason = "Salesforce refused the request: " + code;
    if (!message.empty() && !EchoesValue(code)) r.reason += ": " + message.substr(0, 200);
    return r;
  }
  r = ClassifyCommonFailure(response);
  if (!code.empty()) r.category = code;
  return r;
}

BatchResult ClassifyCollectionWrite(const RecordBatch& batch, const HttpResponse& response) {
  if (response.error != TransportError::kNone || response.status != 200)
    return ClassifyRequestFailure(response);
  json body = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  BatchResult r;
  if (!body.is_array()) {
    // A 200 that is not Salesforce's (a proxy page): the writes may or may not have run.
    r.verdict = Verdict::kRetry;
    r.category = "MALFORMED_RESPONSE";
    r.reason = "Salesforce answered 200 without a result array";
    return r;
  }
  if (body.size() != batch.records.size()) {
    r.verdict = Verdict::kFatal;
    r.category = "RESULT_COUNT_MISMATCH";
    r.reason = "Salesforce answered " + std::to_string(body.size()) + " results for " +
               std::to_string(batch.records.size()) + " records";
    r.status = Status::Internal(r.reason);
    return r;
  }
  r.verdict = Verdict::kSuccessful;
  r.records.reserve(body.size());
  for (const json& result : body) {
    bool success = result.is_object() && result.value("success", false);
    if (!success) {
      r.records.push_back(FailureOutcome(result));
      continue;
    }
    RecordOutcome o;
    o.kind = OutcomeKind::kDelivered;
    o.destination_id = Str(result, "id");
    o.created = result.contains("created") && result["created"].is_boolean() &&
                result["created"].get<bool>();
    r.records.push_back(std::move(o));
  }
  return r;
}

RateLimitHints ReadLimitInfo(const HttpResponse& response) {
  RateLimitHints hints;
  auto info = response.Header("Sforce-Limit-Info");
  if (!info) return hints;
  // "api-usage=10018/100000", possibly with other entries ("per-app-api-usage=..").
  const std::string& s = *info;
  size_t pos = 0;
  while ((pos = s.find("api-usage=", pos)) != std::string::npos) {
    bool starts_entry = pos == 0 || s[pos - 1] == ' ' || s[pos - 1] == ',' || s[pos - 1] == ';';
    pos += 10;
    if (!starts_entry) continue;
    char* end = nullptr;
    long long used = std::strtoll(s.c_str() + pos, &end, 10);
    if (end == s.c_str() + pos || *end != '/') break;
    const char* limit_start = end + 1;
    long long limit = std::strtoll(limit_start, &end, 10);
    if (end == limit_start) break;
    hints.daily_used = used;
    hints.daily_limit = limit;
    break;
  }
  return hints;
}

}  // namespace backflow::salesforce
