#include "app/sync_runner.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "app/batch_pipeline.h"
#include "app/run_guards.h"
#include "backflow/bulk.h"
#include "observability/log.h"
#include "observability/telemetry.h"
#include "planner/contract.h"
#include "planner/delta.h"
#include "source/postgres.h"
#include "state/delivery_store.h"
#include "state/migrations.h"
#include "state/sync_lock.h"

namespace backflow {

std::string RunStatusFor(const RunCounts& c, bool planned) {
  if (planned) return "planned";
  if (c.rows_failed == 0) return "succeeded";
  if (c.rows_succeeded == 0) return "failed";
  return "partial";
}

int ExitCodeFor(const RunReport& r) {
  if (r.run.status == "blocked") return kExitBlocked;
  // A stop (SIGTERM) drains, commits and is not a failure: unsent rows stay pending.
  if (!r.status.ok() && r.status.code() != StatusCode::kCancelled) {
    if (r.status.code() == StatusCode::kInvalidConfig ||
        r.status.code() == StatusCode::kInvalidArgument)
      return kExitUsage;
    // A pause (quota) or a stop leaves rows pending, like a partial run.
    if (r.status.code() == StatusCode::kUnavailable && r.run.counts.rows_succeeded > 0)
      return kExitPartial;
    return kExitFailure;
  }
  if (r.run.counts.rows_failed > 0) return kExitPartial;
  return kExitOk;
}

namespace {

// Records per bulk job: large enough to amortise a job's lifecycle, small enough that a
// job's results commit (and progress shows) steadily and that the jobs in flight (at most
// BatchPipeline::kMaxBulkInFlight) bound memory.
constexpr size_t kBulkJobRecords = 10000;
// Delivered rows (and 10% of the sync's state) after which a run refreshes the state
// tables' planner statistics.
constexpr long long kAnalyzeAfterRows = 10000;
// Records read from the delta cursor at a time.
constexpr size_t kPageRecords = 5000;

// Everything one run holds; Execute() is the pipeline, in order.
class Run {
 public:
  Run(Runtime* rt, const SyncConfig& sync, const RunOptions& options)
      : rt_(rt),
        sync_(sync),
        dest_cfg_(rt->config().destinations.at(sync.destination)),
        dest_(rt->destination(sync.destination)),
        channel_(rt->channel(sync.destination)),
        schema_(rt->config().warehouse.state_schema),
        options_(options) {
    report_.run.sync_name = sync.name;
    report_.run.destination = sync.destination;
    report_.run.kind = options.kind;
    report_.run.forced = options.force;
  }

  RunReport Execute();

 private:
  Status Prepare();
  Status Stream(DeltaReader& reader, const ContractValidator* validator);
  Status Deletes(DeltaReader& reader);
  RunReport Finish(Status status);
  RunReport Block(const std::string& why);

  Runtime* rt_;
  const SyncConfig& sync_;
  const DestinationConfig& dest_cfg_;
  Destination* dest_;
  DestinationChannel* channel_;
  const std::string& schema_;
  RunOptions options_;
  RunReport report_;
  std::unique_ptr<PgConnection> conn_;
  std::unique_ptr<SyncLease> lease_;
  std::unique_ptr<RunStore> runs_;
  std::unique_ptr<DeliveryStore> store_;
  // A second committer, on its own connection: confirmed groups commit two at a time.
  std::unique_ptr<PgConnection> commit_conn_;
  std::unique_ptr<DeliveryStore> commit_store_;
  std::unique_ptr<BatchPipeline> pipeline_;
  RunDetails details_;
  bool started_ = false;
};

Status Run::Prepare() {
  auto conn = PgConnection::Open(rt_->config().warehouse.dsn);
  if (!conn.ok()) return conn.status();
  conn_ = std::move(conn).value();
  BF_RETURN_IF_ERROR(Migrate(*conn_, schema_));
  auto lease = SyncLease::TryAcquire(rt_->config().warehouse.dsn, schema_, sync_.name);
  if (!lease.ok()) return lease.status();
  lease_ = std::move(lease).value();
  if (!lease_) {
    report_.lease_held_elsewhere = true;
    return Status::Unavailable("sync " + sync_.name +
                               " is running in another backflow process right now");
  }
  runs_ = std::make_unique<RunStore>(conn_.get(), schema_);
  auto closed = runs_->CloseAbandoned(sync_.name);
  if (!closed.ok()) return closed.status();
  if (*closed > 0)
    log::Warn("Closed runs left running by a crash as failed.",
              {{"sync", sync_.name}, {"runs", *closed}});
  auto store = DeliveryStore::Open(conn_.get(), schema_);
  if (!store.ok()) return store.status();
  store_ = std::move(store).value();
  auto commit_conn = PgConnection::Open(rt_->config().warehouse.dsn);
  if (!commit_conn.ok()) return commit_conn.status();
  commit_conn_ = std::move(commit_conn).value();
  auto commit_store = DeliveryStore::Open(commit_conn_.get(), schema_);
  if (!commit_store.ok()) return commit_store.status();
  commit_store_ = std::move(commit_store).value();
  report_.run.started_at = rt_->clock()->WallNow();
  BF_RETURN_IF_ERROR(runs_->Start(&report_.run));
  started_ = true;
  rt_->run_events()->Started(report_.run);
  return Status::Ok();
}

RunReport Run::Execute() {
  Status st = Prepare();
  if (!st.ok()) return Finish(st);

  // Run-level gates: SQL checks and the dbt gate.
  if (sync_.contract) {
    std::vector<GateFailure> failures;
    st = EvaluateGates(*conn_, *sync_.contract, &failures);
    if (!st.ok()) return Finish(st);
    if (!failures.empty()) {
      for (const auto& f : failures)
        report_.run.error_summary[f.gate] += 1;
      std::string why = "contract gate failed: " + failures[0].gate + " " + failures[0].reason;
      if (failures.size() > 1) why += " (and " + std::to_string(failures.size() - 1) + " more)";
      if (!options_.force) return Block(why);
      log::Warn("Forced past a failed contract gate.", {{"sync", sync_.name}, {"why", why}});
    }
  }

  pipeline_ = std::make_unique<BatchPipeline>(&sync_, &dest_cfg_, channel_, store_.get(),
                                              rt_->clock(), rt_->telemetry(),
                                              report_.run.run_id, options_.plan);
  pipeline_->AddCommitter(commit_store_.get());
  // Bulk jobs an earlier run left unfinished (a crash or stop mid-job) are polled to their
  // end and committed first, so the delta below no longer contains their rows and they
  // are never uploaded twice.
  if (dest_->bulk() != nullptr && options_.plan == nullptr) {
    auto jobs = channel_->ResumeBulkJobs(sync_);
    if (!jobs.ok()) return Finish(jobs.status());
    for (ResumedBulkJob& job : *jobs) {
      log::Info("Resumed a bulk job left unfinished by an earlier run.",
                {{"run_id", report_.run.run_id}, {"sync", sync_.name}, {"job_id", job.job_id},
                 {"records", job.batch.records.size()}});
      const Status job_status = job.result.status;
      st = pipeline_->Commit(std::move(job.batch), std::move(job.result));
      if (!st.ok()) return Finish(st);
      if (!job_status.ok() && (job_status.code() == StatusCode::kCancelled ||
                               job_status.code() == StatusCode::kAuthRefused))
        return Finish(job_status);
    }
  }

  DeltaOptions dopt;
  dopt.now = rt_->clock()->WallNow();
  if (sync_.contract)
    for (const auto& [field, rule] : sync_.contract->fields)
      if (rule.pii) dopt.pii_fields.insert(field);
  dopt.pii_hasher = [this](const std::string& v) { return store_->HashPii(v); };
  dopt.full = options_.full;
  dopt.sample = options_.sample ? options_.sample : sync_.sample;
  dopt.retry_only = options_.kind == "retry";
  dopt.with_deletes = sync_.on_delete == OnDelete::kDelete && dest_->MaxDeleteRecords() > 0;
  // The delivered rows are counted as far as the guards and the statistics refresh
  // below need (a refresh follows a run that wrote a tenth of the state, so up to nine
  // times the rows changed).
  dopt.delivered_rows_needed = [this](const DeltaSummary& s) {
    return std::max(DeliveredRowsNeeded(sync_, s), 9 * s.rows_changed + 1);
  };
  auto read_conn = PgConnection::Open(rt_->config().warehouse.dsn);
  if (!read_conn.ok()) return Finish(read_conn.status());
  auto reader_or = DeltaReader::Open(std::move(read_conn).value(), sync_, sync_.destination,
                                     schema_, dopt);
  if (!reader_or.ok()) return Finish(reader_or.status());
  std::unique_ptr<DeltaReader> reader = std::move(reader_or).value();
  const DeltaSummary& sum = reader->summary();
  report_.run.counts.rows_read = sum.rows_read;
  report_.run.counts.rows_changed = sum.rows_changed;
  if (options_.plan) {
    options_.plan->totals().unchanged = sum.rows_unchanged;
    options_.plan->totals().held = sum.rows_held;
  }

  // Guards, decided before anything is sent.
  std::optional<std::string> blocked = GuardDelta(sync_, sum);
  if (blocked) {
    if (!options_.force || sum.null_keys > 0 || sum.duplicate_keys > 0) return Block(*blocked);
    log::Warn("Forced past a guard.", {{"sync", sync_.name}, {"guard", *blocked}});
  }

  std::unique_ptr<ContractValidator> validator;
  if (sync_.contract && !sync_.contract->fields.empty()) {
    validator = std::make_unique<ContractValidator>(
        *sync_.contract, reader->fields(),
        [this](const std::string& v) { return store_->HashPii(v); });
    auto rejected = CountRejections(*reader, *validator, *conn_, schema_, report_.run.run_id,
                                    sync_.name, &report_.run.error_summary);
    if (!rejected.ok()) return Finish(rejected.status());
    report_.run.counts.rows_rejected = *rejected;
    if (options_.plan) options_.plan->totals().rejected = *rejected;
    if (auto why = GuardRejections(sync_, sum, *rejected)) {
      if (!options_.force) return Block(*why);
      log::Warn("Forced past the contract's max_invalid.", {{"sync", sync_.name}, {"why", *why}});
    }
    Status rewound = reader->Rewind();
    if (!rewound.ok()) return Finish(rewound);
  }

  pipeline_->SetProgress(sum.rows_changed - report_.run.counts.rows_rejected, options_.progress);
  st = Stream(*reader, validator.get());
  Status drained = pipeline_->Drain();
  if (st.ok()) st = drained;
  if (st.ok()) st = pipeline_->channel_status();
  if (st.ok() && dopt.with_deletes) st = Deletes(*reader);
  if (st.ok() && sum.new_cursor && !options_.plan && pipeline_->counts().rows_failed == 0 &&
      !rt_->stop_requested())
    st = store_->SaveCursor(sync_.name, *sum.new_cursor);
  const long long delivered = pipeline_->counts().rows_succeeded;
  if (!options_.plan && delivered >= kAnalyzeAfterRows &&
      delivered * 10 >= sum.previously_delivered + delivered) {
    // A backfill just wrote a large share (10%, autovacuum's own threshold) of the state:
    // without fresh statistics the next run's delta plans its joins for the old tables
    // (autovacuum gets there, but minutes later).
    Status analyzed = store_->Analyze();
    if (!analyzed.ok())
      log::Warn("Could not refresh the state tables' statistics.",
                {{"sync", sync_.name}, {"error", analyzed.message()}});
  }
  if (st.ok() && !options_.plan && sum.rows_legacy_hash > 0) {
    // State an earlier version hashed with md5 is still recognised, at an md5 per row and
    // run; rewritten once, the next delta compares those rows with one cheap hash.
    auto rewritten = RewriteLegacyHashes(*conn_, sync_, sync_.destination, schema_);
    if (rewritten.ok())
      log::Info("Rewrote stored row hashes in the current form.",
                {{"sync", sync_.name}, {"rows", *rewritten}});
    else
      log::Warn("Could not rewrite the stored row hashes; they are still compared with md5.",
                {{"sync", sync_.name}, {"error", rewritten.status().message()}});
  }
  return Finish(st);
}

Status Run::Stream(DeltaReader& reader, const ContractValidator* validator) {
  // A backfill larger than the destination's bulk threshold goes through its bulk API
  // (Salesforce Bulk API 2.0) in jobs of kBulkJobRecords; state is committed per job
  // exactly as per batch, so both paths end in the same state.
  const BulkProtocol* bulk = dest_->bulk();
  const bool use_bulk = bulk != nullptr && options_.plan == nullptr &&
                        reader.summary().rows_changed > static_cast<long long>(bulk->Threshold());
  if (use_bulk)
    log::Info("Backfill goes through the bulk API.",
              {{"run_id", report_.run.run_id}, {"sync", sync_.name},
               {"destination", sync_.destination}, {"rows", reader.summary().rows_changed}});
  const size_t batch_size =
      use_bulk ? kBulkJobRecords
               : std::min(dest_cfg_.batch_size ? dest_cfg_.batch_size : dest_->MaxBatchRecords(sync_),
                          dest_->MaxBatchRecords(sync_));
  const bool skip_unknown =
      sync_.mode == SyncMode::kUpdate && dest_->UpdateNeedsDestinationId();
  std::vector<Record> page;
  RecordBatch batch;
  batch.sync = &sync_;
  batch.fields = reader.fields();
  // Sized once: a vector grown to a bulk job's 10,000 records would hold room for 16,384.
  batch.records.reserve(batch_size);
  long long skipped = 0;
  while (true) {
    if (rt_->stop_requested()) return Status::Cancelled("stop requested; unsent rows stay pending");
    if (!pipeline_->channel_status().ok()) return pipeline_->channel_status();
    page.clear();
    // Pages of at most kPageRecords, whatever the batch size: memory stays flat.
    auto more = reader.Next(std::clamp<size_t>(batch_size * 10, 1000, kPageRecords), &page);
    if (!more.ok()) return more.status();
    for (Record& r : page) {
      if (validator && !validator->Check(r).empty()) continue;  // counted in pass one
      if (skip_unknown && !r.destination_id) {
        ++skipped;
        if (options_.plan) {
          PlanRecord pr{r.warehouse_id, "skip", {}, {"mode: update and no such record"}};
          options_.plan->Add(std::move(pr));
        }
        continue;
      }
      batch.records.push_back(std::move(r));
      if (batch.records.size() >= batch_size) {
        // No new batch after a stop request, even mid-page.
        if (rt_->stop_requested())
          return Status::Cancelled("stop requested; unsent rows stay pending");
        BF_RETURN_IF_ERROR(pipeline_->Submit(std::move(batch), use_bulk));
        batch = RecordBatch{&sync_, reader.fields(), {}};
        batch.records.reserve(batch_size);
      }
    }
    if (!*more) break;
  }
  report_.run.counts.rows_skipped += skipped;
  if (options_.plan) options_.plan->totals().skipped += skipped;
  return pipeline_->Submit(std::move(batch), use_bulk);
}

Status Run::Deletes(DeltaReader& reader) {
  std::vector<std::pair<std::string, std::string>> page;
  const size_t n = dest_->MaxDeleteRecords();
  while (true) {
    page.clear();
    auto more = reader.NextDeleted(n, &page);
    if (!more.ok()) return more.status();
    if (!page.empty()) {
      std::vector<std::string> ids, wids;
      for (auto& [wid, did] : page) {
        wids.push_back(wid);
        ids.push_back(did.empty() ? wid : did);
      }
      if (options_.plan) {
        for (auto& w : wids) options_.plan->Add(PlanRecord{w, "delete", {}, {}});
        options_.plan->totals().would_delete += static_cast<long long>(wids.size());
      } else {
        DeliveryResult r = channel_->Delete(sync_, ids);
        report_.run.counts.api_requests += r.api_requests;
        if (!r.status.ok()) return r.status;
        BF_RETURN_IF_ERROR(
            store_->CommitDeletes(sync_, dest_cfg_, report_.run.run_id, wids, rt_->clock()->WallNow()));
        report_.run.counts.rows_deleted += static_cast<long long>(wids.size());
      }
    }
    if (!*more) break;
  }
  return Status::Ok();
}

RunReport Run::Block(const std::string& why) {
  report_.run.status = "blocked";
  report_.run.message = why;
  if (options_.plan) {
    options_.plan->totals().blocked = true;
    options_.plan->totals().blocked_reason = why;
  }
  return Finish(Status::Blocked(why));
}

RunReport Run::Finish(Status status) {
  RunRecord& run = report_.run;
  if (pipeline_) {
    const RunCounts& c = pipeline_->counts();
    run.counts.rows_attempted = c.rows_attempted;
    run.counts.rows_succeeded = c.rows_succeeded;
    run.counts.rows_failed = c.rows_failed;
    run.counts.rows_skipped += c.rows_skipped;
    run.counts.api_requests += c.api_requests;
    for (const auto& [reason, ex] : pipeline_->failures()) {
      run.error_summary[reason] += ex.count;
      details_.examples[reason] = ex.warehouse_id;
    }
  }
  report_.status = status;
  if (run.status != "blocked") {
    if (!status.ok() && status.code() != StatusCode::kUnavailable &&
        status.code() != StatusCode::kCancelled) {
      run.status = "failed";
      run.message = status.message();
    } else {
      run.status = RunStatusFor(run.counts, options_.plan != nullptr);
      if (!status.ok()) {
        run.message = status.message();
        if (run.status == "succeeded") run.status = run.counts.rows_succeeded ? "partial" : "failed";
      }
    }
  }
  if (!status.ok() && status.code() != StatusCode::kBlocked)
    run.error_summary[StatusCodeName(status.code())] += 1;
  run.finished_at = rt_->clock()->WallNow();
  if (started_) {
    Status s = runs_->Finish(run);
    if (!s.ok()) log::Error("Could not record the run's end.", {{"error", s.ToString()}});
    if (run.status == "blocked") rt_->run_events()->Blocked(run, details_);
    else rt_->run_events()->Finished(run, details_);
    if (store_) {
      auto pending = store_->RetryQueueDepth(sync_.name, "pending");
      auto dead = store_->RetryQueueDepth(sync_.name, "dead");
      if (pending.ok() && dead.ok()) rt_->run_events()->RetryQueueDepth(sync_.name, *pending, *dead);
    }
  } else if (!status.ok() && !report_.lease_held_elsewhere) {
    log::Error("Run could not start.", {{"sync", sync_.name}, {"error", status.ToString()}});
  }
  report_.exit_code = ExitCodeFor(report_);
  return report_;
}

}  // namespace

RunReport SyncRunner::Run(const std::string& sync_name, const RunOptions& options) {
  const SyncConfig* sync = rt_->sync(sync_name);
  if (sync == nullptr) {
    RunReport r;
    r.status = Status::InvalidArgument("no sync named '" + sync_name + "' in the config");
    r.exit_code = kExitUsage;
    return r;
  }
  try {
    class Run run(rt_, *sync, options);
    return run.Execute();
  } catch (const std::exception& e) {
    RunReport r;
    r.run.sync_name = sync_name;
    r.status = Status::Internal(std::string("unexpected error: ") + e.what());
    r.exit_code = kExitFailure;
    log::Error("Run failed unexpectedly.", {{"sync", sync_name}, {"error", e.what()}});
    return r;
  }
}

}  // namespace backflow
