// DeliverBulk and ResumeBulkJobs: the driving loop of backflow/bulk.h, with every request
// going through the channel's own layers (channel_impl.h).
#include <algorithm>
#include <iterator>

#include "delivery/channel.h"
#include "delivery/channel_impl.h"

namespace backflow {

using namespace channel_internal;

namespace {

constexpr const char* kUnfinished = "Not sent: the bulk job did not finish.";
constexpr const char* kStoppedFirst = "Not sent: delivery stopped first.";
// Polls back off from PollInterval() up to this multiple of it: a large job takes minutes,
// and every poll costs a request of the daily budget.
constexpr int kMaxPollIntervalFactor = 15;

Status ResultsAnswer(const HttpResponse& r) {
  if (r.error == TransportError::kNone && r.status == 200) return Status::Ok();
  const std::string what = r.error != TransportError::kNone
                               ? "Bulk API results: " + r.error_message
                               : "Bulk API results answered HTTP " + std::to_string(r.status);
  return ClassifyCommonFailure(r).verdict == Verdict::kRetry ? Status::Unavailable(what)
                                                             : Status::Failed(what);
}

// The value positions the journal must not keep: PII values never reach the state tables
// unhashed, and the journal has no salt, so they are withheld (their row_hash still says
// what was sent).
std::vector<size_t> PiiPositions(const BulkPart& part) {
  std::vector<size_t> pii;
  if (!part.sync || !part.sync->contract) return pii;
  for (size_t j = 0; j < part.fields.size(); ++j) {
    auto it = part.sync->contract->fields.find(part.fields[j]);
    if (it != part.sync->contract->fields.end() && it->second.pii) pii.push_back(j);
  }
  return pii;
}

// A job that can no longer give an answer is finished in the journal; one that might
// (transient failure, cancel, pause, refused session) stays for the next run.
bool Hopeless(const Status& s) {
  return s.code() == StatusCode::kFailed || s.code() == StatusCode::kNotFound;
}

void MarkFinished(BulkJobJournal* journal, const BulkJob& job) {
  if (journal == nullptr) return;
  // Losing this only means the next run polls a finished job once more.
  Status finished = journal->Finish(job.id, job.state);
  (void)finished;
}

}  // namespace

template <typename T>
Result<T> DestinationChannel::Impl::BulkStep(
    const std::function<HttpRequest()>& build,
    const std::function<Result<T>(const HttpResponse&)>& parse, Call* call) {
  const BulkProtocol* bulk = destination->bulk();
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
    // Built after auth: the session's instance URL and token go into the request.
    const HttpRequest request = build();

    HttpResponse response;
    BF_RETURN_IF_ERROR(SendWithinLimits(request, call, &response));
    const RateLimitHints hints = destination->ReadRateLimit(response);
    ObserveAnswer(*call, hints, response.status == 429,
                  /*budget_gone=*/response.status >= 400 && hints.daily_used &&
                      hints.daily_limit && *hints.daily_used >= *hints.daily_limit);

    if (bulk->NeedsReauthentication(response)) {
      if (reauthenticated)
        return Status::AuthRefused("The destination refused the session again after "
                                   "re-authenticating.");
      reauthenticated = true;
      BF_RETURN_IF_ERROR(Reauthenticate(generation));
      continue;
    }
    Result<T> parsed = parse(response);
    if (parsed.ok() || parsed.status().code() != StatusCode::kUnavailable) return parsed;
    if (limiter.paused()) {  // the answer used up the budget share: a pause, not a retry
      call->paused = true;
      return Paused();
    }
    int attempt = 0;
    if (response.status == 429) {
      attempt = ++rate_limited;
      if (rate_limited > kMaxRateLimitedRetries) return parsed.status();
    } else {
      attempt = ++attempts;
      if (attempts >= std::max(1, config.retry.max_attempts)) return parsed.status();
    }
    if (hints.retry_after) limiter.BlockFor(*hints.retry_after);
    const Millis delay = backoff.Delay(attempt, hints.retry_after);
    telemetry->Retry(config.name,
                     response.status ? "BULK_HTTP_" + std::to_string(response.status)
                                     : std::string("BULK_TRANSPORT"),
                     attempt, delay);
    if (!Wait(delay)) return Status::Cancelled("Delivery was cancelled.");
  }
}

Status DestinationChannel::Impl::PollToEnd(const BulkProtocol& bulk, BulkJob* job, Call* call) {
  Millis interval = std::max(bulk.PollInterval(), Millis(1));
  const Millis max_interval = interval * kMaxPollIntervalFactor;
  while (!IsTerminal(job->state)) {
    if (!Wait(interval)) return Status::Cancelled("Delivery was cancelled.");
    const BulkJob asked = *job;
    Result<BulkJob> polled = BulkStep<BulkJob>(
        [&] { return bulk.BuildPoll(asked); },
        [&](const HttpResponse& r) { return bulk.ParseJob(r); }, call);
    if (!polled.ok()) return polled.status();
    *job = std::move(polled).value();
    if (job->id.empty()) job->id = asked.id;
    interval = std::min(max_interval, interval * 3 / 2);
  }
  return Status::Ok();
}

Result<std::vector<RecordOutcome>> DestinationChannel::Impl::ReadResults(
    const BulkProtocol& bulk, const BulkJob& job, const BulkPart& part, Call* call) {
  auto fetch = [&](BulkResultSet which) {
    return BulkStep<HttpResponse>(
        [&] { return bulk.BuildResults(job, which); },
        [](const HttpResponse& r) -> Result<HttpResponse> {
          Status s = ResultsAnswer(r);
          if (!s.ok()) return s;
          return r;
        },
        call);
  };
  Result<HttpResponse> successful = fetch(BulkResultSet::kSuccessful);
  if (!successful.ok()) return successful.status();
  Result<HttpResponse> failed = fetch(BulkResultSet::kFailed);
  if (!failed.ok()) return failed.status();
  Result<std::vector<RecordOutcome>> outcomes = bulk.ParseResults(part, *successful, *failed);
  if (outcomes.ok() && outcomes->size() != part.records.size())
    return Status::Failed("Bulk API results do not match the job's records.");
  return outcomes;
}

Result<std::vector<RecordOutcome>> DestinationChannel::Impl::DeliverPart(const BulkProtocol& bulk,
                                                                         BulkPart& part,
                                                                         Call* call) {
  auto parse_job = [&](const HttpResponse& r) { return bulk.ParseJob(r); };
  Result<BulkJob> created =
      BulkStep<BulkJob>([&] { return bulk.BuildCreateJob(*part.sync); }, parse_job, call);
  if (!created.ok()) return created.status();
  const BulkJob open = *created;
  // An open job is abandoned with an abort (best effort) so the org does not keep it.
  auto abandon = [&](const Status& why) {
    if (why.code() != StatusCode::kCancelled) {
      Result<BulkJob> aborted =
          BulkStep<BulkJob>([&] { return bulk.BuildAbort(open); }, parse_job, call);
      (void)aborted;
    }
    return why;
  };

  Result<bool> uploaded = BulkStep<bool>(
      [&] { return bulk.BuildUpload(open, part); },
      [&](const HttpResponse& r) -> Result<bool> {
        Status s = bulk.AcceptUpload(r);
        if (!s.ok()) return s;
        return true;
      },
      call);
  if (!uploaded.ok()) return abandon(uploaded.status());
  std::string().swap(part.body);  // uploaded: the job is polled for seconds, or minutes
  Result<BulkJob> closed = BulkStep<BulkJob>([&] { return bulk.BuildClose(open); }, parse_job, call);
  if (!closed.ok()) return abandon(closed.status());
  BulkJob job = std::move(closed).value();
  if (job.id.empty()) job.id = open.id;

  BulkJobJournal* const log = journal.load();
  if (log != nullptr) {
    BulkJobEntry entry;
    entry.job_id = job.id;
    entry.sync_name = part.sync->name;
    entry.destination = config.name;
    entry.state = job.state;
    entry.fields = part.fields;
    // Without the entry the job is still delivered; only a resume after a crash is lost.
    Status saved = log->SaveRecords(entry, part.records, PiiPositions(part));
    (void)saved;
  }

  BF_RETURN_IF_ERROR(PollToEnd(bulk, &job, call));
  if (job.state == BulkJobState::kAborted) {
    MarkFinished(log, job);
    return Status::Failed("The bulk job " + job.id + " was aborted.");
  }
  Result<std::vector<RecordOutcome>> outcomes = ReadResults(bulk, job, part, call);
  if (!outcomes.ok()) {
    if (Hopeless(outcomes.status())) MarkFinished(log, job);
    return outcomes.status();
  }
  MarkFinished(log, job);
  return outcomes;
}

DeliveryResult DestinationChannel::DeliverBulk(const RecordBatch& batch) {
  DeliveryResult result;
  const size_t n = batch.records.size();
  const BulkProtocol* bulk = impl_->destination->bulk();
  if (bulk == nullptr || batch.sync == nullptr) {
    result.outcomes.assign(n, Unconfirmed(kNotSent, kStoppedFirst));
    result.status = Status::Failed("The destination has no bulk API.");
    return result;
  }
  // Outcomes exist only once a job's results are read (a job is polled for seconds, or
  // minutes); those of the first part become the batch's without a copy.
  Call call;
  for (BulkPart& part : bulk->EncodeParts(batch)) {
    if (result.outcomes.size() + part.records.size() > n) {
      result.status = Status::Internal("Bulk parts carry more records than the batch.");
      break;
    }
    Result<std::vector<RecordOutcome>> outcomes = impl_->DeliverPart(*bulk, part, &call);
    if (!outcomes.ok()) {
      result.status = outcomes.status();
      break;
    }
    if (result.outcomes.empty()) result.outcomes = std::move(outcomes).value();
    else std::move(outcomes->begin(), outcomes->end(), std::back_inserter(result.outcomes));
  }
  // The records of the parts not delivered stay unconfirmed.
  const RecordOutcome unconfirmed =
      call.paused ? Unconfirmed(kPausedCategory, result.status.message())
                  : Unconfirmed(kNotSent, result.status.ok() ? kStoppedFirst : kUnfinished);
  result.outcomes.resize(n, unconfirmed);
  result.api_requests = call.api_requests;
  return result;
}

std::future<DeliveryResult> DestinationChannel::SubmitBulk(RecordBatch batch) {
  return SubmitBulk(std::make_shared<RecordBatch>(std::move(batch)));
}

std::future<DeliveryResult> DestinationChannel::SubmitBulk(std::shared_ptr<RecordBatch> batch) {
  auto task = std::make_shared<std::packaged_task<DeliveryResult()>>(
      [this, b = std::move(batch)] { return DeliverBulk(*b); });
  std::future<DeliveryResult> future = task->get_future();
  impl_->pool->Post([task] { (*task)(); });
  return future;
}

void DestinationChannel::SetBulkJournal(BulkJobJournal* journal) { impl_->journal.store(journal); }

Result<std::vector<ResumedBulkJob>> DestinationChannel::ResumeBulkJobs(const SyncConfig& sync) {
  std::vector<ResumedBulkJob> resumed;
  BulkJobJournal* const log = impl_->journal.load();
  const BulkProtocol* bulk = impl_->destination->bulk();
  if (log == nullptr || bulk == nullptr) return resumed;
  Result<std::vector<BulkJobEntry>> entries = log->ListUnfinished(sync.name, config_.name);
  if (!entries.ok()) return entries.status();

  Status stop;  // once the channel stops (cancel, pause, refused session), the rest wait
  for (BulkJobEntry& entry : *entries) {
    ResumedBulkJob r;
    r.job_id = entry.job_id;
    r.batch = RecordBatch{&sync, std::move(entry.fields), std::move(entry.records)};
    const size_t n = r.batch.records.size();
    r.result.outcomes.assign(n, Unconfirmed(kNotSent, kUnfinished));
    Call call;
    if (!stop.ok()) {
      r.result.status = stop;
    } else {
      BulkPart part{&sync, r.batch.fields, r.batch.records, ""};
      BulkJob job;
      job.id = entry.job_id;
      job.state = entry.state;
      Status st = impl_->PollToEnd(*bulk, &job, &call);
      if (st.ok() && job.state == BulkJobState::kAborted)
        st = Status::Failed("The bulk job " + job.id + " was aborted.");
      if (st.ok()) {
        Result<std::vector<RecordOutcome>> outcomes = impl_->ReadResults(*bulk, job, part, &call);
        if (outcomes.ok()) r.result.outcomes = std::move(outcomes).value();
        else st = outcomes.status();
      }
      if (st.ok() || Hopeless(st)) MarkFinished(log, job);
      if (!st.ok() && !Hopeless(st)) stop = st;
      if (call.paused)
        for (auto& o : r.result.outcomes)
          if (o.category == kNotSent) o = Unconfirmed(kPausedCategory, st.message());
      r.result.status = st;
    }
    r.result.api_requests = call.api_requests;
    resumed.push_back(std::move(r));
  }
  return resumed;
}

}  // namespace backflow
