// BulkProtocol: an asynchronous bulk-load API (Salesforce Bulk API 2.0), as a translator.
//
// Like Destination, a BulkProtocol never sends, sleeps or retries: it builds the requests
// of a job's lifecycle and reads their answers. The engine (or delivery) drives it with a
// loop like this one, sending each request through the same rate limit and retry policy
// as every other request, and waiting on its injected Clock between polls:
//
//   for (BulkPart& part : bulk->EncodeParts(batch)) {          // one job per part
//     Result<BulkJob> job = bulk->ParseJob(Send(bulk->BuildCreateJob(*batch.sync)));
//     BF_RETURN_IF_ERROR(bulk->AcceptUpload(Send(bulk->BuildUpload(*job, part))));
//     job = bulk->ParseJob(Send(bulk->BuildClose(*job)));
//     while (job.ok() && !IsTerminal(job->state)) {
//       clock->SleepFor(bulk->PollInterval());
//       job = bulk->ParseJob(Send(bulk->BuildPoll(*job)));
//     }
//     // JobComplete (and Failed: some records may have been processed before it failed)
//     HttpResponse ok = Send(bulk->BuildResults(*job, BulkResultSet::kSuccessful));
//     HttpResponse bad = Send(bulk->BuildResults(*job, BulkResultSet::kFailed));
//     Result<std::vector<RecordOutcome>> outcomes = bulk->ParseResults(part, ok, bad);
//     // outcomes is parallel to part.records; record what they say exactly as for an
//     // upsert batch. A job that ends Aborted, or a step that fails, leaves the part's
//     // rows pending (retried by a later run; an upsert by external id is idempotent).
//   }
//
// Every request needs the destination's session (Destination::BuildAuthRequest first).
// Before parsing any answer, the loop asks NeedsReauthentication(response): when true it
// authenticates once more and repeats that step.
//
// Implementations are thread-safe.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "backflow/clock.h"
#include "backflow/http.h"
#include "backflow/record.h"
#include "backflow/status.h"

namespace backflow {

struct SyncConfig;

enum class BulkJobState {
  kOpen = 0,         // created, accepting uploads
  kUploadComplete,   // closed, queued
  kInProgress,
  kJobComplete,      // terminal: results available
  kFailed,           // terminal: results may hold what was processed before it failed
  kAborted,          // terminal: nothing more happens
};

inline const char* BulkJobStateName(BulkJobState state) {
  switch (state) {
    case BulkJobState::kOpen: return "Open";
    case BulkJobState::kUploadComplete: return "UploadComplete";
    case BulkJobState::kInProgress: return "InProgress";
    case BulkJobState::kJobComplete: return "JobComplete";
    case BulkJobState::kFailed: return "Failed";
    case BulkJobState::kAborted: return "Aborted";
  }
  return "Unknown";
}
inline bool IsTerminal(BulkJobState s) {
  return s == BulkJobState::kJobComplete || s == BulkJobState::kFailed ||
         s == BulkJobState::kAborted;
}

struct BulkJob {
  std::string id;
  BulkJobState state = BulkJobState::kOpen;
  long long records_processed = 0;
  long long records_failed = 0;
  std::string error_message;  // set when the job Failed
};

// One upload's worth of a batch: the encoded body and the records it carries. `records`
// is a view of the batch's own records, not a copy (a bulk job of 10,000 records would
// otherwise be held twice while it is polled): a part is valid while its batch is. The
// driver drops `body` once it is uploaded.
struct BulkPart {
  const SyncConfig* sync = nullptr;
  std::vector<std::string> fields;  // destination field names, as in the batch
  std::span<const Record> records;  // the records encoded in `body`, in order
  std::string body;                 // the upload (a CSV document for Salesforce)
};

enum class BulkResultSet { kSuccessful, kFailed };

class BulkProtocol {
 public:
  virtual ~BulkProtocol() = default;

  // More changed rows than this in one run are sent through the bulk API.
  virtual size_t Threshold() const = 0;
  // How long to wait before the first poll of a job; later polls back off (x1.5, up to
  // 15x this). A small job is done in seconds; a large one costs a few more polls.
  virtual Millis PollInterval() const { return Millis(1000); }

  // True when the answer says the session expired (authenticate, then repeat the step).
  virtual bool NeedsReauthentication(const HttpResponse& response) const = 0;

  // Splits a batch (of any size) into parts that each fit one upload; the parts' records
  // are views of batch.records. REQUIRES: `batch` outlives the parts.
  virtual std::vector<BulkPart> EncodeParts(const RecordBatch& batch) const = 0;

  virtual HttpRequest BuildCreateJob(const SyncConfig& sync) const = 0;
  // Reads the answer to BuildCreateJob, BuildClose, BuildAbort or BuildPoll. Errors:
  // kUnavailable (transient: repeat the step), kFailed (the job cannot go on).
  [[nodiscard]] virtual Result<BulkJob> ParseJob(const HttpResponse& response) const = 0;
  virtual HttpRequest BuildUpload(const BulkJob& job, const BulkPart& part) const = 0;
  [[nodiscard]] virtual Status AcceptUpload(const HttpResponse& response) const = 0;
  virtual HttpRequest BuildClose(const BulkJob& job) const = 0;
  virtual HttpRequest BuildAbort(const BulkJob& job) const = 0;
  virtual HttpRequest BuildPoll(const BulkJob& job) const = 0;
  virtual HttpRequest BuildResults(const BulkJob& job, BulkResultSet which) const = 0;
  // Matches both result sets to the part's records by their key (not by order): one
  // outcome per record of `part`, in order. A record in neither set is kRetryable
  // (category BULK_UNPROCESSED).
  [[nodiscard]] virtual Result<std::vector<RecordOutcome>> ParseResults(
      const BulkPart& part, const HttpResponse& successful,
      const HttpResponse& failed) const = 0;
};

}  // namespace backflow
