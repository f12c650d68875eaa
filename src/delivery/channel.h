// DestinationChannel: the one way anything is sent to a destination.
//
// Layers, outermost first (vector): rate limit -> concurrency limit -> retry(policy) ->
// timeout -> transport. One channel exists per configured destination and is shared by
// every sync that targets it, so they share its rate budget. The destination only
// translates (BuildUpsert/ClassifyUpsert); the channel owns auth refreshes, waiting,
// backoff with full jitter, Retry-After, header-driven adaptation, splitting a batch the
// API refused as a whole, and the in-flight cap. Thread-safe.
#pragma once

#include <atomic>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "backflow/clock.h"
#include "backflow/config.h"
#include "backflow/destination.h"
#include "backflow/http.h"
#include "backflow/record.h"
#include "backflow/status.h"
#include "backflow/telemetry.h"

namespace backflow {

struct DeliveryResult {
  // One outcome per record of the batch, in order. Records not confirmed because the
  // run stopped (fatal, pause, cancel) are kRetryable with category "NOT_SENT".
  std::vector<RecordOutcome> outcomes;
  // OK, or why the channel stopped: kAuthRefused (exit 1), kFailed, kCancelled, and
  // kUnavailable for a pause (quota): nothing is lost, the rows stay pending.
  Status status;
  long long api_requests = 0;  // requests sent for this batch, retries and splits included
};

class BulkJobJournal;  // delivery/bulk_journal.h

// A bulk job an earlier run left unfinished, driven to its end by ResumeBulkJobs.
struct ResumedBulkJob {
  std::string job_id;
  // The records the job carried (as journalled; batch.sync is the sync passed in).
  RecordBatch batch;
  // Parallel to batch.records. When the job could not be read to its end the rows are
  // kRetryable NOT_SENT (they stay pending) and status says why.
  DeliveryResult result;
};

class DestinationChannel {
 public:
  // REQUIRES: every pointer outlives the channel.
  DestinationChannel(const DestinationConfig& config, Destination* destination,
                     HttpTransport* transport, Clock* clock, Random* random,
                     Telemetry* telemetry);
  ~DestinationChannel();

  // Sends one batch and returns when every record's outcome is known. Blocks while the
  // rate limiter or the concurrency cap make it wait. Never throws.
  DeliveryResult Deliver(const RecordBatch& batch);
  // Deliver on a worker; at most max_concurrency run at once; the future is ready when
  // Deliver would have returned. The shared form lets the caller keep the batch without
  // a copy: once the future is ready the channel no longer reads it.
  std::future<DeliveryResult> Submit(RecordBatch batch);
  std::future<DeliveryResult> Submit(std::shared_ptr<RecordBatch> batch);

  // Sends one batch of any size through the destination's bulk API (Salesforce Bulk API
  // 2.0; REQUIRES: destination->bulk() != nullptr): create job, upload parts, close, poll
  // on the clock, read both result sets. Outcomes are parallel to the batch, as Deliver's.
  DeliveryResult DeliverBulk(const RecordBatch& batch);
  std::future<DeliveryResult> SubmitBulk(RecordBatch batch);
  std::future<DeliveryResult> SubmitBulk(std::shared_ptr<RecordBatch> batch);

  // Where DeliverBulk notes the jobs it hands over (default: none, nothing is resumable).
  // REQUIRES: the journal outlives the channel; set before the first DeliverBulk.
  void SetBulkJournal(BulkJobJournal* journal);
  // Polls every unfinished journalled job of `sync` on this destination to a terminal
  // state and reads its results (then marks it finished). The caller commits each job's
  // outcomes as for a delivered batch, BEFORE computing the run's delta, so rows whose
  // job is resumed are not uploaded again. Empty without a journal or a bulk API; an
  // error only when the journal cannot be read (nothing was resumed).
  Result<std::vector<ResumedBulkJob>> ResumeBulkJobs(const SyncConfig& sync);

  // Deletes by destination id (REQUIRES: destination->MaxDeleteRecords() >= ids.size()).
  DeliveryResult Delete(const SyncConfig& sync, const std::vector<std::string>& ids);

  // Asks in-flight and waiting work to stop at the next safe point (SIGTERM): a request
  // already sent is still awaited and classified, nothing new is sent.
  void Cancel();
  // True after a pause verdict or a quota past its share, until `until`.
  bool paused() const;

  const DestinationConfig& config() const { return config_; }

 private:
  struct Impl;
  const DestinationConfig& config_;
  std::unique_ptr<Impl> impl_;
};

// A libcurl transport: keep-alive connection reuse (one easy handle per thread), no
// signals, timeouts mapped to TransportError. Thread-safe.
std::unique_ptr<HttpTransport> MakeCurlTransport();

}  // namespace backflow
