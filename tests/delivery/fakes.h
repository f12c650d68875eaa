// Test doubles for delivery: a scripted HttpTransport that records what was sent and when
// (by the injected clock), and a Destination speaking a tiny JSON protocol.
//
// Protocol of FakeDestination:
//   auth (optional):  POST http://fake/token            200 body = session token
//   upsert:           POST http://fake/upsert  {"ids":[...]}   Authorization: Bearer <session>
//   delete:           DELETE http://fake/delete {"ids":[...]}
//   200 {"results":[{"ok":true,"id":"D1","created":true} | {"ok":false,"error":"..."}]}
//   400 -> split, 401 -> reauthenticate, 403 -> pause, 418 -> fatal, 429 -> rate limited,
//   else ClassifyCommonFailure. Headers: Retry-After (s), X-Limit, X-Remaining, X-Reset
//   (epoch s), X-Window-Ms, X-Daily-Used, X-Daily-Limit.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "backflow/clock.h"
#include "backflow/config.h"
#include "backflow/destination.h"
#include "backflow/http.h"

namespace backflow::testing {

struct SentRequest {
  HttpRequest request;
  SteadyTime at;
};

class FakeTransport final : public HttpTransport {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  FakeTransport(Clock* clock, Handler handler) : clock_(clock), handler_(std::move(handler)) {}

  HttpResponse Send(const HttpRequest& request, std::chrono::milliseconds) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      sent_.push_back({request, clock_->Now()});
    }
    return handler_(request);
  }

  std::vector<SentRequest> sent() const {
    std::lock_guard<std::mutex> lock(mu_);
    return sent_;
  }
  // Sends to `path` ("/upsert", "/token", ...).
  std::vector<SentRequest> SentTo(const std::string& path) const {
    std::vector<SentRequest> out;
    for (auto& s : sent())
      if (s.request.url == "http://fake" + path) out.push_back(s);
    return out;
  }

 private:
  Clock* clock_;
  Handler handler_;
  mutable std::mutex mu_;
  std::vector<SentRequest> sent_;
};

inline std::vector<std::string> IdsOf(const HttpRequest& request) {
  return nlohmann::json::parse(request.body).at("ids").get<std::vector<std::string>>();
}

inline HttpResponse Respond(int status, std::string body = "", HttpHeaders headers = {}) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

// 200 with every id accepted, destination id "D<id>".
inline HttpResponse AcceptAll(const HttpRequest& request) {
  nlohmann::json results = nlohmann::json::array();
  for (const auto& id : IdsOf(request))
    results.push_back({{"ok", true}, {"id", "D" + id}, {"created", true}});
  return Respond(200, nlohmann::json{{"results", results}}.dump());
}

class FakeDestination final : public Destination {
 public:
  bool uses_auth = false;
  explicit FakeDestination(double share = 1.0) : quota_share(share) {}

  bool idempotent = true;
  double quota_share;

  double DailyQuotaShare() const override { return quota_share; }

  size_t MaxBatchRecords(const SyncConfig&) const override { return 100; }
  size_t MaxDeleteRecords() const override { return 100; }

  std::optional<HttpRequest> BuildAuthRequest() const override {
    if (!uses_auth) return std::nullopt;
    return HttpRequest{"POST", "http://fake/token", {}, "secret=hunter2", true};
  }
  Status AcceptAuthResponse(const HttpResponse& response) override {
    if (response.error != TransportError::kNone || response.status >= 500)
      return Status::Unavailable("token endpoint unavailable");
    if (response.status != 200) return Status::AuthRefused("credentials refused");
    std::lock_guard<std::mutex> lock(mu_);
    session_ = response.body;
    return Status::Ok();
  }

  HttpRequest BuildUpsert(const RecordBatch& batch) const override {
    std::vector<std::string> ids;
    for (const auto& r : batch.records) ids.push_back(r.warehouse_id);
    return Build("POST", "http://fake/upsert", ids);
  }
  BatchResult ClassifyUpsert(const RecordBatch& batch, const HttpResponse& r) const override {
    return Classify(batch.records.size(), r);
  }
  HttpRequest BuildDelete(const SyncConfig&, const std::vector<std::string>& ids) const override {
    return Build("DELETE", "http://fake/delete", ids);
  }
  BatchResult ClassifyDelete(const std::vector<std::string>& ids,
                             const HttpResponse& r) const override {
    return Classify(ids.size(), r);
  }

  RateLimitHints ReadRateLimit(const HttpResponse& r) const override {
    RateLimitHints h;
    auto num = [&](const char* name) -> std::optional<long long> {
      auto v = r.Header(name);
      if (!v) return std::nullopt;
      return std::stoll(*v);
    };
    h.limit = num("X-Limit");
    h.remaining = num("X-Remaining");
    if (auto w = num("X-Window-Ms")) h.window = Millis(*w);
    if (auto reset = num("X-Reset")) h.reset_at = WallTime(std::chrono::seconds(*reset));
    if (auto ra = num("Retry-After")) h.retry_after = Millis(*ra * 1000);
    h.daily_used = num("X-Daily-Used");
    h.daily_limit = num("X-Daily-Limit");
    return h;
  }

 private:
  HttpRequest Build(const char* method, const char* url,
                    const std::vector<std::string>& ids) const {
    HttpRequest req{method, url, {}, nlohmann::json{{"ids", ids}}.dump(), idempotent};
    if (uses_auth) {
      std::lock_guard<std::mutex> lock(mu_);
      req.headers.emplace_back("Authorization", "Bearer " + session_);
    }
    return req;
  }

  BatchResult Classify(size_t n, const HttpResponse& r) const {
    BatchResult b;
    if (auto ra = r.Header("Retry-After")) b.retry_after = Millis(std::stoll(*ra) * 1000);
    switch (r.status) {
      case 200: {
        const nlohmann::json body = nlohmann::json::parse(r.body);
        for (const auto& item : body.at("results")) {
          RecordOutcome o;
          if (item.at("ok").get<bool>()) {
            o.destination_id = item.at("id").get<std::string>();
            o.created = item.value("created", false);
          } else {
            o.kind = OutcomeKind::kPermanent;
            o.category = "VALIDATION_ERROR";
            o.reason = item.at("error").get<std::string>();
          }
          b.records.push_back(o);
        }
        (void)n;
        return b;
      }
      case 400: b.verdict = Verdict::kSplit; b.category = "BAD_RECORD"; b.reason = r.body; return b;
      case 401: b.verdict = Verdict::kReauthenticate; b.category = "SESSION_EXPIRED"; return b;
      case 403: b.verdict = Verdict::kPause; b.category = "QUOTA"; b.reason = "Daily quota used up."; return b;
      case 418:
        b.verdict = Verdict::kFatal;
        b.status = Status::Failed("teapot");
        return b;
      case 429:
        b.verdict = Verdict::kRetry;
        b.rate_limited = true;
        b.category = "RATE_LIMIT";
        b.reason = "rate limited";
        return b;
      default: {
        BatchResult common = ClassifyCommonFailure(r);
        if (!common.retry_after) common.retry_after = b.retry_after;
        return common;
      }
    }
  }

  mutable std::mutex mu_;
  std::string session_;
};

inline DestinationConfig MakeConfig(long long requests, Millis per, int max_concurrency = 1) {
  DestinationConfig c;
  c.name = "fake";
  c.type = "fake";
  c.rate_limit.requests = requests;
  c.rate_limit.per = per;
  c.max_concurrency = max_concurrency;
  c.timeout = Millis(1000);
  c.retry.max_attempts = 4;
  c.retry.initial_backoff = Millis(100);
  c.retry.max_backoff = Millis(10000);
  c.settings = std::make_shared<DestinationSettings>();
  return c;
}

inline RecordBatch MakeBatch(int n, int first = 0) {
  RecordBatch b;
  b.fields = {"score"};
  for (int i = 0; i < n; ++i) {
    Record r;
    r.warehouse_id = std::to_string(first + i);
    r.values = {FieldValue{ValueKind::kInteger, std::to_string(i)}};
    b.records.push_back(r);
  }
  return b;
}

}  // namespace backflow::testing
