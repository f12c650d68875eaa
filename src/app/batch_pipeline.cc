#include "app/batch_pipeline.h"

#include <algorithm>
#include <memory>

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
      last_progress_log_(clock->Now()) {
  committers_.push_back(store);
}

Status BatchPipeline::Submit(RecordBatch batch, bool bulk) {
  if (batch.records.empty()) return Status::Ok();
  if (plan_ != nullptr) {
    DeliveryResult result;
    PlanBatch(batch, &result.outcomes);
    return Collect(std::move(batch), std::move(result));
  }
  const size_t cap = bulk ? std::min(max_in_flight_, kMaxBulkInFlight) : max_in_flight_;
  while (in_flight_.size() >= cap) BF_RETURN_IF_ERROR(CollectOldest());
  if (!channel_status_.ok()) return Status::Ok();  // the channel stopped: send nothing more
  auto shared = std::make_shared<RecordBatch>(std::move(batch));
  std::future<DeliveryResult> f = bulk ? channel_->SubmitBulk(shared) : channel_->Submit(shared);
  in_flight_.push_back({std::move(shared), std::move(f)});
  // A bulk job's batch is large: the caller reads the next one only once it can be sent,
  // not while it would wait here beside the jobs in flight.
  if (bulk)
    while (in_flight_.size() >= cap) BF_RETURN_IF_ERROR(CollectOldest());
  return Status::Ok();
}

Status BatchPipeline::Drain() {
  // Every confirmed batch is committed, even when one collection failed.
  Status st = Status::Ok();
  while (!in_flight_.empty()) {
    Status s = CollectOldest();
    if (st.ok()) st = s;
  }
  Status started = StartCommit();
  Status waited = WaitCommits();
  if (st.ok()) st = started;
  if (st.ok()) st = waited;
  return st;
}

Status BatchPipeline::Commit(RecordBatch batch, DeliveryResult result) {
  BF_RETURN_IF_ERROR(Collect(std::move(batch), std::move(result)));
  BF_RETURN_IF_ERROR(StartCommit());
  return WaitCommits();
}

Status BatchPipeline::CollectOldest() {
  InFlight f = std::move(in_flight_.front());
  in_flight_.pop_front();
  DeliveryResult result = f.result.get();
  if (!result.status.ok() && channel_status_.ok()) channel_status_ = result.status;
  return Collect(std::move(*f.batch), std::move(result));
}

Status BatchPipeline::Collect(RecordBatch batch, DeliveryResult result) {
  counts_.api_requests += result.api_requests;
  const size_t n = std::min(result.outcomes.size(), batch.records.size());
  // Rows that never reached a verdict are left out of the commit entirely: they stay
  // changed and the next run sends them.
  if (!CountOutcomes(batch.records, result.outcomes, n)) return Status::Ok();
  if (!group_.records.empty() && group_.fields != batch.fields) BF_RETURN_IF_ERROR(StartCommit());
  // Moved straight into groups of at most kCommitRecords: a bulk job's 10,000 records
  // commit as two groups, as the same rows sent in batches would.
  for (size_t i = 0; i < n; ++i) {
    if (NotSent(result.outcomes[i])) continue;
    if (group_.records.empty()) {
      group_.fields = batch.fields;
      group_.opened = clock_->Now();
      group_.records.reserve(std::min(kCommitRecords, n - i));
      group_.outcomes.reserve(std::min(kCommitRecords, n - i));
    }
    group_.records.push_back(std::move(batch.records[i]));
    group_.outcomes.push_back(std::move(result.outcomes[i]));
    if (group_.records.size() >= kCommitRecords) BF_RETURN_IF_ERROR(StartCommit());
  }
  if (!group_.records.empty() && clock_->Now() - group_.opened >= kCommitEvery)
    return StartCommit();
  return Status::Ok();
}

Status BatchPipeline::StartCommit() {
  if (group_.records.empty()) return Status::Ok();
  if (committing_.size() >= committers_.size()) BF_RETURN_IF_ERROR(WaitOldestCommit());
  DeliveryStore* store = nullptr;
  for (DeliveryStore* s : committers_) {
    bool busy = false;
    for (const Committing& c : committing_) busy |= c.store == s;
    if (!busy) {
      store = s;
      break;
    }
  }
  Committing c{store, std::make_shared<CommitGroup>(std::move(group_)), {}, {}};
  group_ = CommitGroup{};
  c.commit.run_id = run_id_;
  c.commit.sync = sync_;
  c.commit.destination = destination_;
  c.commit.fields = &c.group->fields;
  c.commit.records = &c.group->records;
  c.commit.outcomes = &c.group->outcomes;
  c.commit.now = clock_->WallNow();
  c.commit.dry_run = plan_ != nullptr;
  log::Debug("Commit started.", {{"run_id", run_id_},
                                 {"sync", sync_->name},
                                 {"destination", destination_->name},
                                 {"records", c.group->records.size()}});
  c.done = std::async(std::launch::async, [store, commit = c.commit, group = c.group] {
    return store->CommitBatch(commit).status();
  });
  committing_.push_back(std::move(c));
  return Status::Ok();
}

Status BatchPipeline::WaitOldestCommit() {
  if (committing_.empty()) return Status::Ok();
  Committing c = std::move(committing_.front());
  committing_.pop_front();
  Status st = c.done.get();
  if (st.ok() || committers_.size() == 1) return st;
  // Ran beside another commit: it may have lost a race on a destination_id. Once no other
  // commit runs, a second attempt sees the other's rows.
  log::Debug("Commit retried alone.", {{"run_id", run_id_},
                                       {"sync", sync_->name},
                                       {"records", c.group->records.size()},
                                       {"error", st.message()}});
  Status others = WaitCommits();
  Status again = c.store->CommitBatch(c.commit).status();
  return again.ok() ? others : again;
}

Status BatchPipeline::WaitCommits() {
  Status st = Status::Ok();
  while (!committing_.empty()) {
    Status s = WaitOldestCommit();
    if (st.ok()) st = s;
  }
  return st;
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

bool BatchPipeline::CountOutcomes(const std::vector<Record>& records,
                                  const std::vector<RecordOutcome>& outcomes, size_t n) {
  long long delivered = 0, failed = 0, skipped = 0;
  for (size_t i = 0; i < n; ++i) {
    const RecordOutcome& o = outcomes[i];
    if (NotSent(o)) continue;
    switch (o.kind) {
      case OutcomeKind::kDelivered: ++delivered; break;
      case OutcomeKind::kSkipped: ++skipped; break;
      case OutcomeKind::kRetryable:
      case OutcomeKind::kPermanent: {
        ++failed;
        FailureExample& ex = failures_[o.category.empty() ? "UNKNOWN" : o.category];
        if (ex.count++ == 0) {
          ex.reason = o.reason;
          ex.warehouse_id = records[i].warehouse_id;
        }
        break;
      }
    }
  }
  const long long confirmed = delivered + failed + skipped;
  if (confirmed == 0) return false;
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
  log::Debug("Batch confirmed.", {{"run_id", run_id_},
                                  {"sync", sync_->name},
                                  {"destination", destination_->name},
                                  {"records", confirmed},
                                  {"delivered", delivered},
                                  {"failed", failed},
                                  {"skipped", skipped}});
  return true;
}

}  // namespace backflow
