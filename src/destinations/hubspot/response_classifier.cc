#include "destinations/hubspot/response_classifier.h"

#include <strings.h>

#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

#include "backflow/config.h"

namespace backflow::hubspot {
namespace {

using nlohmann::json;

std::string StringField(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  if (it == j.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<long long>());
  return "";
}

// A scalar id as text ("1001" or 1001), or nullopt.
std::optional<std::string> IdText(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_number_integer()) return std::to_string(j.get<long long>());
  return std::nullopt;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The ids an error names: context.ids / context.id / context.objectIds, strings or lists.
std::vector<std::string> ContextIds(const json& error) {
  std::vector<std::string> ids;
  if (!error.is_object()) return ids;
  auto ctx = error.find("context");
  if (ctx == error.end() || !ctx->is_object()) return ids;
  for (const char* key : {"ids", "id", "objectIds", "inputs"}) {
    auto it = ctx->find(key);
    if (it == ctx->end()) continue;
    if (auto one = IdText(*it)) ids.push_back(*one);
    if (it->is_array())
      for (const json& v : *it)
        if (auto one = IdText(v)) ids.push_back(*one);
  }
  return ids;
}

BatchResult Whole(Verdict verdict, std::string category, std::string reason) {
  BatchResult r;
  r.verdict = verdict;
  r.category = std::move(category);
  r.reason = std::move(reason);
  return r;
}

BatchResult ClassifyRateLimited(const HttpResponse& response, const json& body) {
  BatchResult r = ClassifyCommonFailure(response);  // kRetry, rate_limited, Retry-After
  const std::string policy = StringField(body, "policyName");
  if (strcasecmp(policy.c_str(), "DAILY") == 0) {
    r.verdict = Verdict::kPause;
    r.rate_limited = true;
    r.category = "DAILY_LIMIT";
    r.reason = "HubSpot daily limit reached";
    r.status = Status::Unavailable(r.reason);
    return r;
  }
  r.category = "RATE_LIMIT";
  r.reason = policy.empty() ? "HubSpot rate limit (429)"
                            : "HubSpot rate limit (429 " + policy + ")";
  return r;
}

// Per-record outcomes of a 200/207 answer.
BatchResult ClassifyResults(const RecordBatch& batch, const json& body) {
  const SyncConfig& sync = *batch.sync;
  const bool update = sync.mode == SyncMode::kUpdate;
  const std::string id_property = sync.id_property.value_or("");
  const size_t n = batch.records.size();

  // Indexes of the batch by what HubSpot echoes back.
  std::map<std::string, size_t> by_key, by_key_lower, by_hs_id;
  for (size_t i = 0; i < n; ++i) {
    const Record& rec = batch.records[i];
    if (rec.destination_id) by_hs_id.emplace(*rec.destination_id, i);
    if (!update) {
      by_key.emplace(rec.warehouse_id, i);
      by_key_lower.emplace(Lower(rec.warehouse_id), i);  // HubSpot lowercases emails
    }
  }
  // The input's own id: upsert inputs are named by warehouse id, update inputs by hs id.
  auto find_input = [&](const std::string& id) -> std::optional<size_t> {
    auto& primary = update ? by_hs_id : by_key;
    if (auto it = primary.find(id); it != primary.end()) return it->second;
    if (!update)
      if (auto it = by_key_lower.find(Lower(id)); it != by_key_lower.end()) return it->second;
    return std::nullopt;
  };

  BatchResult r;
  r.verdict = Verdict::kSuccessful;
  r.records.assign(n, RecordOutcome{OutcomeKind::kRetryable, "", false, "MISSING_FROM_RESPONSE",
                                    "HubSpot's answer did not mention this record"});
  std::vector<bool> settled(n, false);

  const json* results = nullptr;
  if (body.is_object())
    if (auto it = body.find("results"); it != body.end() && it->is_array()) results = &*it;
  if (results) {
    // A result naming no input can only be matched by position, which is safe only
    // for a batch of one: a wrong hs_object_id in id_mappings is worse than a retry.
    std::vector<const json*> unmatched;
    for (const json& res : *results) {
      if (!res.is_object()) continue;
      auto hs_id = res.contains("id") ? IdText(res["id"]) : std::nullopt;
      std::optional<size_t> index;
      if (update) {
        if (hs_id) index = find_input(*hs_id);
      } else {
        const json* props = res.contains("properties") && res["properties"].is_object()
                                ? &res["properties"] : nullptr;
        if (props && props->contains(id_property))
          if (auto key = IdText((*props)[id_property])) index = find_input(*key);
        if (!index && hs_id)
          if (auto it = by_hs_id.find(*hs_id); it != by_hs_id.end()) index = it->second;
      }
      if (!index) {
        unmatched.push_back(&res);
        continue;
      }
      if (!hs_id) continue;  // a confirmation without the object's id confirms nothing
      if (settled[*index]) continue;
      settled[*index] = true;
      RecordOutcome& out = r.records[*index];
      out = RecordOutcome{};
      out.kind = OutcomeKind::kDelivered;
      out.destination_id = hs_id.value_or("");
      out.created = res.contains("new") && res["new"].is_boolean() && res["new"].get<bool>();
    }
    if (n == 1 && !settled[0] && unmatched.size() == 1 && results->size() == 1) {
      const json& res = *unmatched[0];
      if (auto hs_id = res.contains("id") ? IdText(res["id"]) : std::nullopt) {
        settled[0] = true;
        r.records[0] = RecordOutcome{};
        r.records[0].destination_id = *hs_id;
        r.records[0].created =
            res.contains("new") && res["new"].is_boolean() && res["new"].get<bool>();
      }
    }
  }

  if (body.is_object())
    if (auto it = body.find("errors"); it != body.end() && it->is_array()) {
      for (const json& err : *it) {
        std::string category = StringField(err, "category");
        if (category.empty()) category = "VALIDATION_ERROR";
        std::string message = StringField(err, "message");
        if (message.empty()) message = "HubSpot refused this record (" + category + ")";
        for (const std::string& id : ContextIds(err)) {
          auto index = find_input(id);
          if (!index || settled[*index]) continue;
          settled[*index] = true;
          RecordOutcome& out = r.records[*index];
          out = RecordOutcome{};
          // mode: update of a record HubSpot no longer has: nothing to update.
          out.kind = update && category == "OBJECT_NOT_FOUND" ? OutcomeKind::kSkipped
                                                               : OutcomeKind::kPermanent;
          out.category = category;
          out.reason = message;
        }
      }
    }
  return r;
}

// Parses an answer keeping, of each entry of "results", only what ClassifyResults reads
// (id, new, and the id property among its properties). A batch upsert echoes every record
// whole, with every property and timestamps: kept, they were most of a HubSpot sync's
// memory allocations.
json ParseAnswer(const std::string& text, const std::string& id_property) {
  std::string top_key;  // the member of the answer being parsed
  auto keep = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event != json::parse_event_t::key) return true;
    const std::string& key = parsed.get_ref<const std::string&>();
    if (depth == 1) top_key = key;
    if (top_key != "results") return true;
    if (depth == 3) return key == "id" || key == "new" || key == "properties";
    if (depth == 4) return key == id_property;  // inside a result's properties
    return true;
  };
  return json::parse(text, keep, /*allow_exceptions=*/false);
}

}  // namespace

BatchResult ClassifyBatchWrite(const RecordBatch& batch, const HttpResponse& response) {
  if (response.error != TransportError::kNone) return ClassifyCommonFailure(response);
  const json body = ParseAnswer(response.body, batch.sync ? batch.sync->id_property.value_or("") : "");
  const int code = response.status;
  if (code == 200 || code == 201 || code == 207) {
    if (!body.is_object() || !body.contains("results"))
      return Whole(Verdict::kRetry, "MALFORMED_RESPONSE",
                   "HubSpot answered " + std::to_string(code) + " without results");
    return ClassifyResults(batch, body);
  }
  if (code == 401) {
    BatchResult r = Whole(Verdict::kFatal, "INVALID_AUTHENTICATION",
                          "HubSpot refused the private app token (401 INVALID_AUTHENTICATION)");
    r.status = Status::AuthRefused(r.reason);
    return r;
  }
  if (code == 403) {
    std::string category = StringField(body, "category");
    BatchResult r = Whole(Verdict::kFatal, category.empty() ? "HTTP_403" : category,
                          "HubSpot refused the private app token's access (403" +
                              (category.empty() ? "" : " " + category) +
                              "); check the app's scopes");
    r.status = Status::AuthRefused(r.reason);
    return r;
  }
  if (code == 429) return ClassifyRateLimited(response, body);
  if (code == 400 || code == 409 || code == 413 || code == 422) {
    std::string category = StringField(body, "category");
    std::string message = StringField(body, "message");
    return Whole(Verdict::kSplit, category.empty() ? "HTTP_" + std::to_string(code) : category,
                 "HubSpot refused the whole batch (" + std::to_string(code) +
                     (message.empty() ? ")" : "): " + message));
  }
  return ClassifyCommonFailure(response);
}

RateLimitHints ReadRateLimitHeaders(const HttpResponse& response) {
  auto number = [&](const char* name) -> std::optional<long long> {
    auto h = response.Header(name);
    if (!h || h->empty()) return std::nullopt;
    char* end = nullptr;
    long long v = std::strtoll(h->c_str(), &end, 10);
    if (end == h->c_str() || v < 0) return std::nullopt;
    return v;
  };
  RateLimitHints hints;
  hints.limit = number("X-HubSpot-RateLimit-Max");
  hints.remaining = number("X-HubSpot-RateLimit-Remaining");
  if (auto ms = number("X-HubSpot-RateLimit-Interval-Milliseconds")) hints.window = Millis(*ms);
  hints.daily_limit = number("X-HubSpot-RateLimit-Daily");
  if (auto left = number("X-HubSpot-RateLimit-Daily-Remaining"); left && hints.daily_limit)
    hints.daily_used = *hints.daily_limit > *left ? *hints.daily_limit - *left : 0;
  if (auto ra = response.Header("Retry-After")) {
    char* end = nullptr;
    double secs = std::strtod(ra->c_str(), &end);
    if (end != ra->c_str() && secs >= 0) hints.retry_after = Millis(static_cast<long long>(secs * 1000));
  }
  return hints;
}

}  // namespace backflow::hubspot
