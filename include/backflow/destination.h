// Destination: translates batches into HTTP requests and responses into outcomes.
//
// A destination never sends, sleeps, retries or counts tokens: delivery/ does that once
// for all of them (vector's layering; benthos' "the engine owns reconnects"). One instance
// exists per configured destination and serves every sync that targets it, so methods
// are thread-safe; auth state (a Salesforce session) is the only mutable state.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backflow/clock.h"
#include "backflow/http.h"
#include "backflow/record.h"
#include "backflow/status.h"

namespace backflow {

struct SyncConfig;
struct DestinationConfig;
class BulkProtocol;  // backflow/bulk.h

// The whole-request verdict of a response (vector's Retry/RetryPartial/DontRetry/Successful).
enum class Verdict {
  kSuccessful = 0,  // the request was processed; BatchResult::records has one outcome per
                    // record of the batch, in batch order (some may be failures)
  kRetry,           // transient for the whole request (429, 5xx, timeout): send it again
  kSplit,           // refused as a whole because of some record(s) (duplicate ids, a 400
                    // naming no record): delivery halves the batch to isolate them
  kReauthenticate,  // the session expired: authenticate once more, then send again
  kPause,           // a quota is used up (daily budget): stop sending to this destination;
                    // the rows stay pending, nothing is lost
  kFatal,           // stop the run: bad credentials, a request backflow must never build
};

const char* VerdictName(Verdict v);

struct BatchResult {
  Verdict verdict = Verdict::kSuccessful;
  std::vector<RecordOutcome> records;  // kSuccessful only: parallel to the batch's records
  bool rate_limited = false;           // kRetry because of a rate limit (does not use up an
                                       // attempt)
  std::optional<Millis> retry_after;   // the destination said when to come back
  std::string category;                // for whole-request failures: "RATE_LIMIT", "HTTP_503"
  std::string reason;                  // person-readable, no secrets, no PII
  Status status;                       // kFatal: why, as the code the run should end with
};

// What a response said about the destination's limits; unset fields were not present.
struct RateLimitHints {
  std::optional<long long> limit;      // requests allowed per window
  std::optional<long long> remaining;  // requests left in the current window
  std::optional<Millis> window;        // the window's length
  std::optional<WallTime> reset_at;    // when the current window ends
  std::optional<Millis> retry_after;
  std::optional<long long> daily_used;
  std::optional<long long> daily_limit;
};

class Destination {
 public:
  virtual ~Destination() = default;

  // The most records the API accepts in one write request for this sync
  // (HubSpot 100, Salesforce 200, Braze 75). Delivery never builds a larger batch.
  virtual size_t MaxBatchRecords(const SyncConfig& sync) const = 0;

  // True when `mode: update` can only address records whose destination id is known
  // (Salesforce, HubSpot): the engine then skips rows without an id_mappings entry.
  // False when the API itself refuses to create (Braze _update_existing_only).
  virtual bool UpdateNeedsDestinationId() const { return true; }

  // Authentication. When BuildAuthRequest returns a request, delivery sends it before the
  // first write and after every kReauthenticate verdict, and hands the answer to
  // AcceptAuthResponse, which stores the session (or says why it was refused, never
  // including the secret). Static-token destinations keep the defaults.
  virtual std::optional<HttpRequest> BuildAuthRequest() const { return std::nullopt; }
  [[nodiscard]] virtual Status AcceptAuthResponse(const HttpResponse& /*response*/) {
    return Status::Ok();
  }

  // One write request for the batch (REQUIRES: 0 < size <= MaxBatchRecords).
  virtual HttpRequest BuildUpsert(const RecordBatch& batch) const = 0;
  // Reads the answer to BuildUpsert(batch), including transport errors.
  virtual BatchResult ClassifyUpsert(const RecordBatch& batch,
                                     const HttpResponse& response) const = 0;

  // Deletes (on_delete: delete). MaxDeleteRecords() == 0 means unsupported.
  virtual size_t MaxDeleteRecords() const { return 0; }
  virtual HttpRequest BuildDelete(const SyncConfig& sync,
                                  const std::vector<std::string>& destination_ids) const;
  // kSuccessful results carry one outcome per id, in order.
  virtual BatchResult ClassifyDelete(const std::vector<std::string>& destination_ids,
                                     const HttpResponse& response) const;

  // What the response's headers say about limits (called for every response).
  virtual RateLimitHints ReadRateLimit(const HttpResponse& response) const = 0;

  // The share (0..1] of the destination's daily API budget backflow may use (Salesforce's
  // daily_quota_share). Delivery pauses the destination (as for Verdict::kPause) once a
  // response's hints say daily_used >= DailyQuotaShare() * daily_limit.
  virtual double DailyQuotaShare() const { return 1.0; }

  // The destination's bulk-load API (Salesforce Bulk API 2.0), or nullptr when it has
  // none. Owned by the destination; see backflow/bulk.h for the loop that drives it.
  virtual const BulkProtocol* bulk() const { return nullptr; }
};

// The classification every destination shares (fluent-bit): 408/429/5xx and transport
// errors are retryable, other 4xx permanent. Destinations call it for answers their own
// API does not explain better.
BatchResult ClassifyCommonFailure(const HttpResponse& response);

}  // namespace backflow
