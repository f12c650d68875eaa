#include "delivery/channel.h"

#include <algorithm>

#include "delivery/channel_impl.h"

namespace backflow {

using namespace channel_internal;

namespace {

void Fill(RecordOutcome* out, size_t n, OutcomeKind kind, const std::string& category,
          const std::string& reason) {
  for (size_t i = 0; i < n; ++i) {
    out[i] = RecordOutcome{};
    out[i].kind = kind;
    out[i].category = category;
    out[i].reason = reason;
  }
}

// Sent, and the answer is unknown: the server may have applied it.
bool Ambiguous(const HttpResponse& r) {
  switch (r.error) {
    case TransportError::kTimeout:
    case TransportError::kDropped:
    case TransportError::kOther: return true;
    case TransportError::kConnect: return false;
    case TransportError::kNone: return r.status >= 500;
  }
  return true;
}

// What one request carries: a part of a batch (upserts) or a list of ids (deletes).
struct UpsertOp {
  Destination* destination;
  using Slice = RecordBatch;
  static size_t Size(const Slice& s) { return s.records.size(); }
  HttpRequest Build(const Slice& s) const { return destination->BuildUpsert(s); }
  BatchResult Classify(const Slice& s, const HttpResponse& r) const {
    return destination->ClassifyUpsert(s, r);
  }
  static Slice Part(const Slice& s, size_t begin, size_t end) {
    Slice p;
    p.sync = s.sync;
    p.fields = s.fields;
    p.records.assign(s.records.begin() + static_cast<std::ptrdiff_t>(begin),
                     s.records.begin() + static_cast<std::ptrdiff_t>(end));
    return p;
  }
};

struct DeleteSlice {
  const SyncConfig* sync = nullptr;
  std::vector<std::string> ids;
};

struct DeleteOp {
  Destination* destination;
  using Slice = DeleteSlice;
  static size_t Size(const Slice& s) { return s.ids.size(); }
  HttpRequest Build(const Slice& s) const { return destination->BuildDelete(*s.sync, s.ids); }
  BatchResult Classify(const Slice& s, const HttpResponse& r) const {
    return destination->ClassifyDelete(s.ids, r);
  }
  static Slice Part(const Slice& s, size_t begin, size_t end) {
    Slice p;
    p.sync = s.sync;
    p.ids.assign(s.ids.begin() + static_cast<std::ptrdiff_t>(begin),
                 s.ids.begin() + static_cast<std::ptrdiff_t>(end));
    return p;
  }
};

}  // namespace


bool DestinationChannel::Impl::Wait(Millis d) {
  std::chrono::nanoseconds left = d;
  while (left.count() > 0) {
    if (cancelled.load()) return false;
    const auto step = std::min<std::chrono::nanoseconds>(left, kWaitSlice);
    clock->SleepFor(step);
    left -= step;
  }
  return !cancelled.load();
}

Status DestinationChannel::Impl::AuthenticateLocked() {
  std::optional<HttpRequest> request = destination->BuildAuthRequest();
  if (!request) {
    authenticated = true;
    return Status::Ok();
  }
  const int max_attempts = std::max(1, config.retry.max_attempts);
  for (int attempt = 1;; ++attempt) {
    if (cancelled.load()) return Status::Cancelled("Delivery was cancelled.");
    HttpResponse response = transport->Send(*request, config.timeout);
    telemetry->ApiRequest(config.name, response.status,
                          std::chrono::duration_cast<std::chrono::microseconds>(response.elapsed));
    Status status = destination->AcceptAuthResponse(response);
    if (status.ok()) {
      authenticated = true;
      ++auth_generation;
      return status;
    }
    // A transient failure (unreachable token endpoint) is retried; a refusal is not.
    if (status.code() != StatusCode::kUnavailable || attempt >= max_attempts) return status;
    const Millis delay = backoff.Delay(attempt);
    telemetry->Retry(config.name, "AUTH_UNAVAILABLE", attempt, delay);
    if (!Wait(delay)) return Status::Cancelled("Delivery was cancelled.");
  }
}

void DestinationChannel::Impl::ObserveAnswer(const Call& call, const RateLimitHints& hints,
                                             bool rate_limited, bool budget_gone) {
  const bool was_paused = limiter.paused();
  limiter.Observe(hints, rate_limited, call.sent);
  if (budget_gone && !limiter.paused())
    limiter.PauseUntil(clock->Now() + RateLimiter::kQuotaPause,
                       "The destination's daily API budget is used up.");
  if (!was_paused && limiter.paused()) telemetry->Paused(config.name, limiter.pause_reason());
}

Status DestinationChannel::Impl::SendWithinLimits(const HttpRequest& request, Call* call,
                                                  HttpResponse* response) {
  {
    // The slot is taken before the rate reservation so the booked time is the real send
    // time: a reservation that then queued for a slot could bunch up sends.
    if (!slots.Acquire(cancelled)) return Status::Cancelled("Delivery was cancelled.");
    ConcurrencySlot slot(&slots);
    SteadyTime booked;
    const Millis wait = limiter.Reserve(&booked);
    if (wait.count() > 0) {
      telemetry->RateLimitWait(config.name, wait);
      if (!Wait(wait)) return Status::Cancelled("Delivery was cancelled.");
    }
    if (limiter.paused()) {
      call->paused = true;
      return Paused();
    }
    // The window counts from the real send, however late it woke, and then from the
    // answer (the server counted the request before answering it; without an answer it
    // may have counted it at any moment until now).
    const SteadyTime sent = limiter.Sent(booked);
    call->sent = sent;
    *response = transport->Send(request, config.timeout);
    limiter.Answered(sent, response->error == TransportError::kNone);
    ++call->api_requests;
  }
  telemetry->ApiRequest(config.name, response->status,
                        std::chrono::duration_cast<std::chrono::microseconds>(response->elapsed));
  return Status::Ok();
}

Status DestinationChannel::Impl::EnsureAuth(uint64_t* generation) {
  std::lock_guard<std::mutex> lock(auth_mu);
  Status status = authenticated ? Status::Ok() : AuthenticateLocked();
  *generation = auth_generation;
  return status;
}

Status DestinationChannel::Impl::Reauthenticate(uint64_t seen_generation) {
  std::lock_guard<std::mutex> lock(auth_mu);
  // Another request already refreshed the session this one was refused with.
  if (auth_generation != seen_generation && authenticated) return Status::Ok();
  if (!destination->BuildAuthRequest())
    return Status::AuthRefused("The destination refused the configured credentials.");
  authenticated = false;
  return AuthenticateLocked();
}

template <typename Op>
Status DestinationChannel::Impl::Send(const Op& op, const typename Op::Slice& slice,
                                      RecordOutcome* out, Call* call) {
  const size_t n = Op::Size(slice);
  int attempts = 0;
  int rate_limited = 0;
  bool reauthenticated = false;
  for (;;) {
    if (cancelled.load()) return Status::Cancelled("Delivery was cancelled.");
    if (limiter.paused()) {
      call->paused = true;
      return Paused();
    }
    uint64_t generation = 0;
    BF_RETURN_IF_ERROR(EnsureAuth(&generation));
    const HttpRequest request = op.Build(slice);

    HttpResponse response;
    BF_RETURN_IF_ERROR(SendWithinLimits(request, call, &response));
    BatchResult result = op.Classify(slice, response);
    ObserveAnswer(*call, destination->ReadRateLimit(response),
                  result.rate_limited || response.status == 429);

    switch (result.verdict) {
      case Verdict::kSuccessful:
        if (result.records.size() != n) {
          Fill(out, n, OutcomeKind::kRetryable, "BAD_RESULT",
               "The destination answered with " + std::to_string(result.records.size()) +
                   " outcomes for " + std::to_string(n) + " records.");
          return Status::Ok();
        }
        std::copy(result.records.begin(), result.records.end(), out);
        return Status::Ok();

      case Verdict::kRetry: {
        if (!request.idempotent && Ambiguous(response)) {
          // It may have been applied; sending it again could duplicate. A later run
          // re-sends after reading the destination's state.
          Fill(out, n, OutcomeKind::kRetryable, result.category, result.reason);
          return Status::Ok();
        }
        int attempt = 0;
        if (result.rate_limited || response.status == 429) {
          attempt = ++rate_limited;
          if (rate_limited > kMaxRateLimitedRetries) {
            Fill(out, n, OutcomeKind::kRetryable, result.category, result.reason);
            return Status::Ok();
          }
        } else {
          attempt = ++attempts;
          if (attempts >= config.retry.max_attempts) {
            Fill(out, n, OutcomeKind::kRetryable, result.category, result.reason);
            return Status::Ok();
          }
        }
        if (result.retry_after) limiter.BlockFor(*result.retry_after);
        const Millis delay = backoff.Delay(attempt, result.retry_after);
        telemetry->Retry(config.name, result.category, attempt, delay);
        if (!Wait(delay)) return Status::Cancelled("Delivery was cancelled.");
        continue;
      }

      case Verdict::kSplit: {
        if (n == 1) {
          Fill(out, n, OutcomeKind::kPermanent, result.category, result.reason);
          return Status::Ok();
        }
        const size_t half = n / 2;
        BF_RETURN_IF_ERROR(Send(op, Op::Part(slice, 0, half), out, call));
        return Send(op, Op::Part(slice, half, n), out + half, call);
      }

      case Verdict::kReauthenticate:
        if (reauthenticated)
          return Status::AuthRefused("The destination refused the session again after "
                                     "re-authenticating.");
        reauthenticated = true;
        BF_RETURN_IF_ERROR(Reauthenticate(generation));
        continue;

      case Verdict::kPause: {
        const Millis pause = result.retry_after.value_or(RateLimiter::kQuotaPause);
        std::string reason = result.reason.empty() ? "The destination asked to pause." : result.reason;
        limiter.PauseUntil(clock->Now() + pause, reason);
        telemetry->Paused(config.name, reason);
        call->paused = true;
        return Status::Unavailable(reason);
      }

      case Verdict::kFatal:
        return result.status.ok() ? Status::Failed(result.reason) : result.status;
    }
    return Status::Internal("Unknown verdict.");
  }
}

template <typename Op>
DeliveryResult DestinationChannel::Impl::Run(const Op& op, const typename Op::Slice& slice,
                                             size_t chunk) {
  const size_t n = Op::Size(slice);
  DeliveryResult result;
  result.outcomes.assign(n, Unconfirmed(kNotSent, "Not sent: delivery stopped first."));
  Call call;
  if (chunk == 0) chunk = n;
  for (size_t begin = 0; begin < n && result.status.ok(); begin += chunk) {
    const size_t end = std::min(n, begin + chunk);
    result.status = (begin == 0 && end == n)
                        ? Send(op, slice, result.outcomes.data(), &call)
                        : Send(op, Op::Part(slice, begin, end), result.outcomes.data() + begin,
                               &call);
  }
  if (call.paused) {
    for (auto& o : result.outcomes)
      if (o.category == kNotSent) o = Unconfirmed(kPausedCategory, result.status.message());
  }
  result.api_requests = call.api_requests;
  return result;
}

DestinationChannel::DestinationChannel(const DestinationConfig& config, Destination* destination,
                                       HttpTransport* transport, Clock* clock, Random* random,
                                       Telemetry* telemetry)
    : config_(config),
      impl_(std::make_unique<Impl>(config, destination, transport, clock, random, telemetry)) {}

DestinationChannel::~DestinationChannel() { impl_->pool.reset(); }

DeliveryResult DestinationChannel::Deliver(const RecordBatch& batch) {
  size_t chunk = 0;
  if (batch.sync) chunk = impl_->destination->MaxBatchRecords(*batch.sync);
  return impl_->Run(UpsertOp{impl_->destination}, batch, chunk);
}

std::future<DeliveryResult> DestinationChannel::Submit(RecordBatch batch) {
  return Submit(std::make_shared<RecordBatch>(std::move(batch)));
}

std::future<DeliveryResult> DestinationChannel::Submit(std::shared_ptr<RecordBatch> batch) {
  auto task = std::make_shared<std::packaged_task<DeliveryResult()>>(
      [this, b = std::move(batch)] { return Deliver(*b); });
  std::future<DeliveryResult> future = task->get_future();
  impl_->pool->Post([task] { (*task)(); });
  return future;
}

DeliveryResult DestinationChannel::Delete(const SyncConfig& sync,
                                          const std::vector<std::string>& ids) {
  const size_t max = impl_->destination->MaxDeleteRecords();
  if (max == 0) {
    DeliveryResult result;
    result.outcomes.assign(ids.size(), Unconfirmed(kNotSent, "Deletes are not supported."));
    result.status = Status::Failed("The destination does not support deletes.");
    return result;
  }
  return impl_->Run(DeleteOp{impl_->destination}, DeleteSlice{&sync, ids}, max);
}

void DestinationChannel::Cancel() {
  impl_->cancelled.store(true);
  impl_->slots.WakeAll();
}

bool DestinationChannel::paused() const { return impl_->limiter.paused(); }

}  // namespace backflow
