#include "app/batch_pipeline.h"

#include "observability/log.h"
#include "planner/contract.h"

namespace backflow {
namespace {

// Outcomes that say "never reached a verdict": the row stays changed and the next run
// sends it; they are not failures and do not enter the retry queue.
bool NotSent(const RecordOutcome& o) {
  return o.kind == OutcomeKind::kRetryable && (o.category == "NOT_SENT" || o.category == "PAUSED");
}

}  // namespace

BatchPipeline::BatchPipeline(const SyncConfig* sync, const DestinationConfig* destination,
                             DestinationChannel* channel, DeliveryStore* store, Clock* clock,
                             Telemetry* telemetry, long long run_id, PlanWriter* plan)
    : sync_(sync),
      destination_(destination),
      channel_(channel),
      store_(store),
      clock_(clock),
      telemetry_(telemetry),
      run_id_(run_id),
      plan_(plan),
      max_in_flight_(static_cast<size_t>(std::max(1, destination->max_concurrency))),
      started_(clock->Now()),
      last_progress_log_(clock->Now()) {}

Status BatchPipeline::Submit(RecordBatch batch, bool bulk) {
  if (batch.records.empty()) return Status::Ok();
  if (plan_ != nullptr) {
    DeliveryResult result;
    PlanBatch(batch, &result.outcomes);
    return Commit(batch, result);
  }
  const size_t cap = bulk ? std::min(max_in_flight_, kMaxBulkInFlight) : max_in_flight_;
  while (in_flight_.size() >= cap) BF_RETURN_IF_ERROR(CommitOldest());
  if (!channel_status_.ok()) return Status::Ok();  // the channel stopped: send nothing more
  std::future<DeliveryResult> f = bulk ? channel_->SubmitBulk(batch) : channel_->Submit(batch);
  in_flight_.push_back({std::move(batch), std::move(f)});
  return Status::Ok();
}

Status BatchPipeline::Drain() {
  while (!in_flight_.empty()) BF_RETURN_IF_ERROR(CommitOldest());
  return Status::Ok();
}

Status BatchPipeline::CommitOldest() {
  InFlight f = std::move(in_flight_.front());
  in_flight_.pop_front();
  DeliveryResult result = f.result.get();
  if (!result.status.ok() && channel_status_.ok()) channel_status_ = result.status;
  return Commit(f.batch, result);
}

void BatchPipeline::PlanBatch(const RecordBatch& batch, std::vector<RecordOutcome>* outcomes) {
  for (const Record& r : batch.records) {
    RecordOutcome o;
    o.kind = OutcomeKind::kDelivered;
    o.destination_id = r.destination_id.value_or("");
    o.created = !r.destination_id && !r.previously_delivered;
    outcomes->push_back(o);
    PlanRecord pr;
    pr.warehouse_id = r.warehouse_id;
    pr.operation = o.created ? "create" : "update";
    for (size_t i = 0; i < batch.fields.size(); ++i) {
      const std::string& f = batch.fields[i];
      bool changed = false;
      for (const auto& c : r.changed_fields) changed |= (c == f);
      if (!changed) continue;
      PlanChange ch;
      ch.field = f;
      if (i < r.previous_values.size()) ch.old_value = r.previous_values[i];
      bool pii = sync_->contract && sync_->contract->fields.count(f) &&
                 sync_->contract->fields.at(f).pii;
      if (!r.values[i].is_null())
        ch.new_value = pii ? MaskPii(store_->HashPii(r.values[i].text)) : r.values[i].text;
      if (pii && ch.old_value) ch.old_value = MaskPii(*ch.old_value);
      pr.changes.push_back(std::move(ch));
    }
    if (o.created) ++plan_->totals().would_create;
    else ++plan_->totals().would_update;
    plan_->Add(std::move(pr));
  }
}

Status BatchPipeline::Commit(const RecordBatch& batch, const DeliveryResult& result) {
  counts_.api_requests += result.api_requests;
  // Rows that never reached a verdict are left out of the commit entirely.
  const std::vector<Record>* records = &batch.records;
  const std::vector<RecordOutcome>* outcomes = &result.outcomes;
  std::vector<Record> kept_records;
  std::vector<RecordOutcome> kept_outcomes;
  bool any_not_sent = false;
  for (const auto& o : result.outcomes) any_not_sent |= NotSent(o);
  if (any_not_sent) {
    for (size_t i = 0; i < result.outcomes.size(); ++i) {
      if (NotSent(result.outcomes[i])) continue;
      kept_records.push_back(batch.records[i]);
      kept_outcomes.push_back(result.outcomes[i]);
    }
    records = &kept_records;
    outcomes = &kept_outcomes;
  }
  if (records->empty()) return Status::Ok();

  BatchCommit commit;
  commit.run_id = run_id_;
  commit.sync = sync_;
  commit.destination = destination_;
  commit.fields = &batch.fields;
  commit.records = records;
  commit.outcomes = outcomes;
  commit.now = clock_->WallNow();
  commit.dry_run = plan_ != nullptr;
  Result<CommitTotals> totals = store_->CommitBatch(commit);
  if (!totals.ok()) return totals.status();

  long long delivered = 0, failed = 0, skipped = 0;
  for (size_t i = 0; i < outcomes->size(); ++i) {
    const RecordOutcome& o = (*outcomes)[i];
    switch (o.kind) {
      case OutcomeKind::kDelivered: ++delivered; break;
      case OutcomeKind::kSkipped: ++skipped; break;
      case OutcomeKind::kRetryable:
      case OutcomeKind::kPermanent: {
        ++failed;
        FailureExample& ex = failures_[o.category.empty() ? "UNKNOWN" : o.category];
        if (ex.count++ == 0) {
          ex.reason = o.reason;
          ex.warehouse_id = (*records)[i].warehouse_id;
        }
        break;
      }
    }
  }
  counts_.rows_attempted += delivered + failed;
  counts_.rows_succeeded += delivered;
  counts_.rows_failed += failed;
  counts_.rows_skipped += skipped;
  if (plan_ == nullptr) {
    if (delivered) telemetry_->Rows(sync_->name, destination_->name, "delivered", delivered);
    if (failed) telemetry_->Rows(sync_->name, destination_->name, "failed", failed);
    if (skipped) telemetry_->Rows(sync_->name, destination_->name, "skipped", skipped);
  }
  const long long done = counts_.rows_attempted + counts_.rows_skipped;
  if (progress_) progress_(done, progress_total_);
  SteadyTime now = clock_->Now();
  if (progress_total_ > 0 && now - last_progress_log_ >= kProgressEvery) {
    last_progress_log_ = now;
    double secs = std::chrono::duration<double>(now - started_).count();
    double rate = secs > 0 ? static_cast<double>(done) / secs : 0;
    double eta = rate > 0 ? static_cast<double>(progress_total_ - done) / rate : 0;
    log::Info("Progress.", {{"run_id", run_id_},
                            {"sync", sync_->name},
                            {"destination", destination_->name},
                            {"rows_done", done},
                            {"rows_total", progress_total_},
                            {"rows_per_s", static_cast<long long>(rate)},
                            {"eta_s", static_cast<long long>(eta)}});
  }
  log::Debug("Batch committed.", {{"run_id", run_id_},
                                  {"sync", sync_->name},
                                  {"destination", destination_->name},
                                  {"records", records->size()},
                                  {"delivered", delivered},
                                  {"failed", failed},
                                  {"skipped", skipped}});
  return Status::Ok();
}

}  // namespace backflow
