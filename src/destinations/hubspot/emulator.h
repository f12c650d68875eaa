// HubSpotEmulator: the sandbox's HubSpot CRM v3 batch API, strict to destinations.md.
//
//   POST /crm/v3/objects/{objectType}/batch/upsert   by a unique id property
//   POST /crm/v3/objects/{objectType}/batch/update   by hs_object_id
//   GET  /crm/v3/objects/{objectType}/{id}[?idProperty=p]
//
// Every request needs `Authorization: Bearer <token>` (default "sandbox-hubspot-token").
// A batch is refused whole (400) when it has more than 100 inputs, an idProperty that is
// not a unique property of the object, or duplicate ids. Single inputs fail in a 207
// when a property value is not a string, a property is named "invalid_*", or a value
// contains "__reject__" — the others are applied. Every answer carries the
// X-HubSpot-RateLimit-* headers; the emulator's own rolling-window limit is off unless
// configured (benchmarks need an unthrottled sandbox). Configure() takes:
//   {"token":"..", "rate_limit":{"requests":100,"interval_ms":10000}, "daily_limit":N,
//    "unique_properties":{"contacts":["email","warehouse_id"]}}
// Thread-safe: mu_ guards the limits and the store; bodies are parsed and answers written
// outside it.
#pragma once

#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

#include "backflow/clock.h"
#include "destinations/hubspot/emulator_store.h"
#include "sandbox/sandbox.h"

namespace backflow::hubspot {

class HubSpotEmulator final : public sandbox::Emulator {
 public:
  static constexpr const char* kDefaultToken = "sandbox-hubspot-token";
  static constexpr size_t kMaxInputs = 100;

  // REQUIRES: clock (when given) outlives the emulator; nullptr: the real clock.
  explicit HubSpotEmulator(Clock* clock = nullptr);

  std::string name() const override { return "hubspot"; }
  void Register(httplib::Server& server, sandbox::Sandbox& sandbox) override;
  nlohmann::json Records() const override;
  void Reset() override;
  void WriteRateLimited(httplib::Response& res) const override;
  void Configure(const nlohmann::json& options) override;  // throws on a malformed option

 private:
  void HandleUpsert(const httplib::Request& req, httplib::Response& res);
  void HandleUpdate(const httplib::Request& req, httplib::Response& res);
  void HandleGet(const httplib::Request& req, httplib::Response& res);

  // What a batch write takes from the locked state before its body is read: a batch is
  // parsed and checked outside mu_, so the server's threads do that work side by side.
  struct Admission {
    std::string correlation;
    std::set<std::string> unique;  // the object type's unique properties
  };
  // Locks mu_ for Admit (a write) and copies what the batch is checked against; nullopt
  // when `res` already holds the refusal.
  std::optional<Admission> AdmitBatch(const httplib::Request& req, httplib::Response& res,
                                      const std::string& object_type);
  // Auth and the emulator's own limits; false when `res` already holds the refusal.
  // REQUIRES: mu_ held.
  bool Admit(const httplib::Request& req, httplib::Response& res, bool write);
  // The correlation id of the request Admit took last. REQUIRES: mu_ held.
  std::string Correlation() const;
  // REQUIRES: mu_ held.
  // `exhausted`: report no requests left (a limit that is not the emulator's own).
  void SetLimitHeaders(httplib::Response& res, bool exhausted = false) const;
  std::string NowIso() const;

  Clock* clock_;
  mutable std::mutex mu_;
  std::string token_ = kDefaultToken;
  std::optional<std::pair<long long, Millis>> rate_limit_;  // off unless configured
  long long daily_limit_ = 1000000;
  long long daily_used_ = 0;
  std::deque<SteadyTime> window_;
  EmulatorStore store_;
  long long correlation_ = 0;
};

}  // namespace backflow::hubspot
