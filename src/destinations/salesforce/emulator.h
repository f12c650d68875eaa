// The Salesforce emulator of backflow-sandbox: OAuth token flows, sObject Collections
// upsert/update, Bulk API 2.0 ingest jobs and the daily API budget, strict to
// destinations.md.
//
// Routes (instance_url is the sandbox's base URL; {v} is any "vNN.N"):
//   POST  /services/oauth2/token                         the three flows; 400 invalid_grant
//   PATCH /services/data/{v}/composite/sobjects/{obj}/{extIdField}   upsert, <= 200 records
//   PATCH /services/data/{v}/composite/sobjects                      update by Id
//   POST  /services/data/{v}/jobs/ingest                 create a job
//   PUT   /services/data/{v}/jobs/ingest/{id}/batches    upload CSV (any number of times)
//   PATCH /services/data/{v}/jobs/ingest/{id}            UploadComplete | Aborted
//   GET   /services/data/{v}/jobs/ingest/{id}            poll: after UploadComplete each poll
//         advances one state and answers it: InProgress, then JobComplete (rows applied then)
//   GET   /services/data/{v}/jobs/ingest/{id}/successfulResults/ | failedResults/
//         CSV in a shuffled (seeded) order
//   POST  /_admin/salesforce/expire_tokens               every issued token -> 401
//   POST  /_admin/salesforce/api_usage {"used":N}        sets the daily count
//
// Every data answer carries Sforce-Limit-Info: api-usage=N/M; past daily_limit a data call
// is 403 REQUEST_LIMIT_EXCEEDED. The sandbox's hidden per-second limit answers 503
// SERVER_UNAVAILABLE: Salesforce has no per-second 429, and its 403 REQUEST_LIMIT_EXCEEDED
// means the daily budget (a pause, not a retry).
//
// Configure() options (all optional): client_id "sandbox-client", client_secret
// "sandbox-secret", refresh_token "sandbox-refresh", username "integration@example.com",
// public_key_pem (the JWT flow is refused without it), token_ttl_seconds 7200,
// daily_limit 100000, rejected_fields {"Lead": ["Bad_Field__c"]}, max_upload_bytes
// 104857600, seed 1.
//
// Per-record checks: a rejected field -> INVALID_FIELD naming it; a string over 255
// characters -> STRING_TOO_LONG; an external id given twice in one request ->
// DUPLICATE_EXTERNAL_ID. allOrNone:true applies nothing when any record fails.
// Thread-safe: one mutex over every store.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "backflow/clock.h"
#include "sandbox/sandbox.h"

namespace backflow::salesforce {

class SalesforceEmulator final : public sandbox::Emulator {
 public:
  // REQUIRES: clock outlives the emulator. It dates tokens (token_ttl_seconds) and checks
  // JWT exp, so tests move time with a ManualClock.
  explicit SalesforceEmulator(Clock* clock = Clock::Real());
  ~SalesforceEmulator() override;

  std::string name() const override { return "salesforce"; }
  void Configure(const nlohmann::json& options) override;
  void Register(httplib::Server& server, sandbox::Sandbox& sandbox) override;
  // {"Lead": [{"Id": "00Q...", "ExternalId__c": "user_1", ...}, ...], ...}, by Id.
  nlohmann::json Records() const override;
  void Reset() override;
  void WriteRateLimited(httplib::Response& res) const override;

  // The stores (emulator_state.h; internal to emulator*.cc).
  struct Options;
  struct Store;
  struct Job;

 private:

  void HandleToken(const httplib::Request& req, httplib::Response& res);
  void HandleUpsert(const httplib::Request& req, httplib::Response& res);
  void HandleUpdate(const httplib::Request& req, httplib::Response& res);
  void HandleCreateJob(const httplib::Request& req, httplib::Response& res);
  void HandleUpload(const httplib::Request& req, httplib::Response& res);
  void HandleSetJobState(const httplib::Request& req, httplib::Response& res);
  void HandleGetJob(const httplib::Request& req, httplib::Response& res);
  void HandleResults(const httplib::Request& req, httplib::Response& res);

  // REQUIRES: mu_ held. Checks the bearer token and the daily budget, counts the call and
  // sets Sforce-Limit-Info; false when it has answered (401/403).
  bool AdmitDataCall(const httplib::Request& req, httplib::Response& res);
  // REQUIRES: mu_ held. An error {"statusCode","message","fields"} for a record's fields,
  // or null when Salesforce would take them.
  nlohmann::json CheckFields(const std::string& object, const nlohmann::json& fields) const;
  // REQUIRES: mu_ held, CheckFields passed. Creates or updates; returns {id, created}.
  std::pair<std::string, bool> Upsert(const std::string& object, const std::string& ext_field,
                                      const std::string& ext_value, nlohmann::json fields);
  // REQUIRES: mu_ held. Runs a closed job's uploads.
  void Process(Job& job);
  std::string IssueToken();
  std::string LimitInfo() const;

  Clock* clock_;
  sandbox::Sandbox* sandbox_ = nullptr;
  mutable std::mutex mu_;
  std::unique_ptr<Options> options_;
  std::unique_ptr<Store> store_;
};

// Answers with a JSON body.
void SendJson(httplib::Response& res, int status, const nlohmann::json& body);

}  // namespace backflow::salesforce
