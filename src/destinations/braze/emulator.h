// The Braze emulator of backflow-sandbox: /users/track and /users/delete, strict to
// destinations.md (Braze).
//
//   auth         Authorization: Bearer <api_key> (default "sandbox-braze-key"), else 401
//   /users/track more than 75 objects in total (legacy_limits: per array) -> 400
//                {"message":"Max Input Length Exceeded"}; per-object problems are non-fatal
//                errors {"type","input_array","index"} and that object is not applied:
//                  - not exactly one identifier (external_id | user_alias | braze_id; email
//                    or phone identify only when none of those is given, otherwise they are
//                    ordinary attributes)
//                  - an attribute name starting with "invalid_", a value "__reject__", an
//                    object/array value for a standard attribute (first_name, email, ...),
//                    an array holding objects or arrays
//                  - "_update_existing_only": true for a user that does not exist: type
//                    "user not found: '_update_existing_only' is true" (Braze documents no
//                    wording for this; the words "not found" are what the client reads)
//                null unsets an attribute. 201 {"message":"success","attributes_processed":N}
//                plus "errors" when any.
//   /users/delete at most 50 external_ids (more -> 400) -> 201 {"deleted":N,"message":"success"}
//   limits       X-RateLimit-Limit/-Remaining/-Reset (epoch seconds) on every answer; past
//                the rolling window (Braze's real 3,000 per 3 s unless configured, off with
//                "rate_limit": null) a request is refused with 429 and no Retry-After.
//
// Configure() options: {"api_key":"..","legacy_limits":false,
//                       "rate_limit":{"requests":3000,"per_ms":3000}}. Thread-safe.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "backflow/clock.h"
#include "sandbox/sandbox.h"

namespace backflow::braze {

class BrazeEmulator final : public sandbox::Emulator {
 public:
  static constexpr const char* kDefaultApiKey = "sandbox-braze-key";

  // `clock` (not owned; nullptr: the real clock) drives the rolling window and the reset
  // header, so tests move the window without sleeping.
  explicit BrazeEmulator(Clock* clock = nullptr);

  std::string name() const override { return "braze"; }
  void Register(httplib::Server& server, sandbox::Sandbox& sandbox) override;
  // {"<external_id>": {attributes...}, ...}; users identified otherwise appear as
  // "email:<address>", "phone:<number>", "braze_id:<id>" or "user_alias:<label>:<name>".
  nlohmann::json Records() const override;
  void Reset() override;
  void WriteRateLimited(httplib::Response& res) const override;
  // Throws std::invalid_argument on a malformed option.
  void Configure(const nlohmann::json& options) override;

  struct Answer {
    int status = 201;
    nlohmann::json body;
  };

 private:
  // Requests in a rolling window; `enforced` false only counts (for the headers).
  struct Window {
    long long requests = 3000;
    Millis per{3000};
    bool enforced = true;
    std::deque<SteadyTime> sent;
  };

  // REQUIRES: mu_ held. Drops requests older than the window.
  void Prune(Window& w) const;
  void SetLimitHeaders(const Window& w, httplib::Response& res) const;
  // Rate limit, auth, then `answer`; writes headers and body.
  void Serve(Window& w, const httplib::Request& req, httplib::Response& res,
             Answer (BrazeEmulator::*answer)(const nlohmann::json&));

  Answer Track(const nlohmann::json& body);   // emulator_track.cc; REQUIRES: mu_ held
  Answer Delete(const nlohmann::json& body);  // emulator_track.cc; REQUIRES: mu_ held

  Clock* clock_;
  mutable std::mutex mu_;
  std::string api_key_ = kDefaultApiKey;
  bool legacy_limits_ = false;
  Window track_window_;
  Window delete_window_;
  std::map<std::string, nlohmann::json> users_;
};

}  // namespace backflow::braze
