// DestinationChannel's internals, shared by channel.cc (Deliver, Delete) and
// bulk_driver.cc (DeliverBulk, resume): one rate limiter, concurrency cap, backoff and
// session per destination, whichever API a request goes to. Internal to src/delivery/.
#pragma once

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "backflow/bulk.h"
#include "delivery/backoff.h"
#include "delivery/bulk_journal.h"
#include "delivery/channel.h"
#include "delivery/concurrency_limit.h"
#include "delivery/rate_limiter.h"
#include "delivery/worker_pool.h"

namespace backflow {
namespace channel_internal {

// Waits are sliced so a Cancel() is noticed within one slice.
inline constexpr std::chrono::milliseconds kWaitSlice{50};
// 429s do not use up attempts, but a destination that never stops answering 429 must not
// keep a batch forever.
inline constexpr int kMaxRateLimitedRetries = 64;
inline constexpr const char* kNotSent = "NOT_SENT";
inline constexpr const char* kPausedCategory = "PAUSED";

inline RecordOutcome Unconfirmed(const std::string& category, const std::string& reason) {
  RecordOutcome o;
  o.kind = OutcomeKind::kRetryable;
  o.category = category;
  o.reason = reason;
  return o;
}

// Per Deliver/Delete call.
struct Call {
  long long api_requests = 0;
  bool paused = false;
  // When its last request was logged as sent (RateLimiter::Sent); unset before the first.
  std::optional<SteadyTime> sent;
};

}  // namespace channel_internal

using channel_internal::Call;

struct DestinationChannel::Impl {
  Impl(const DestinationConfig& config, Destination* destination, HttpTransport* transport,
       Clock* clock, Random* random, Telemetry* telemetry)
      : config(config),
        destination(destination),
        transport(transport),
        clock(clock),
        telemetry(telemetry ? telemetry : Telemetry::Null()),
        limiter(config.rate_limit, clock, destination->DailyQuotaShare()),
        backoff(config.retry, random),
        slots(config.max_concurrency),
        pool(std::make_unique<WorkerPool>(config.max_concurrency)) {}

  template <typename Op>
  DeliveryResult Run(const Op& op, const typename Op::Slice& slice, size_t chunk);
  template <typename Op>
  Status Send(const Op& op, const typename Op::Slice& slice, RecordOutcome* out, Call* call);

  // One request through the concurrency cap and the rate limiter to the transport:
  // takes a slot, waits for the reservation, sends, counts and reports it. kCancelled or
  // the pause status when it stopped before sending.
  Status SendWithinLimits(const HttpRequest& request, Call* call, HttpResponse* response);
  // Adapts the limiter to an answer and reports a pause it began. `budget_gone`: the
  // answer says the daily budget is used up, which pauses even below the configured share.
  // `call`: the call whose last request was answered with `hints`.
  void ObserveAnswer(const Call& call, const RateLimitHints& hints, bool rate_limited,
                     bool budget_gone = false);
  Status EnsureAuth(uint64_t* generation);
  Status Reauthenticate(uint64_t seen_generation);
  Status AuthenticateLocked();
  bool Wait(Millis d);
  Status Paused() const { return Status::Unavailable(limiter.pause_reason()); }

  // bulk_driver.cc: one request of a bulk job's lifecycle through the same layers as
  // Send (cancel, pause, auth, slot, rate, transport, limits), repeated with backoff while
  // `parse` says kUnavailable and once after re-authenticating.
  template <typename T>
  Result<T> BulkStep(const std::function<HttpRequest()>& build,
                     const std::function<Result<T>(const HttpResponse&)>& parse, Call* call);
  // Polls `job` to a terminal state, waiting on the clock between polls.
  Status PollToEnd(const BulkProtocol& bulk, BulkJob* job, Call* call);
  // Reads both result sets of a terminal job: outcomes parallel to part.records.
  Result<std::vector<RecordOutcome>> ReadResults(const BulkProtocol& bulk, const BulkJob& job,
                                                 const BulkPart& part, Call* call);
  // One part: create, upload, close, journal, poll, results: outcomes parallel to
  // part.records. Drops part.body once it is uploaded.
  Result<std::vector<RecordOutcome>> DeliverPart(const BulkProtocol& bulk, BulkPart& part,
                                                 Call* call);

  const DestinationConfig& config;
  Destination* const destination;
  HttpTransport* const transport;
  Clock* const clock;
  Telemetry* const telemetry;
  RateLimiter limiter;
  Backoff backoff;
  ConcurrencyLimit slots;
  std::atomic<bool> cancelled{false};

  std::mutex auth_mu;
  bool authenticated = false;
  uint64_t auth_generation = 0;

  std::atomic<BulkJobJournal*> journal{nullptr};

  // Reset first by ~DestinationChannel: its destructor runs queued work that uses the rest.
  std::unique_ptr<WorkerPool> pool;
};

}  // namespace backflow
