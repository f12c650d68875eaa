// BatchPipeline: keeps up to max_concurrency batches in flight on a destination's channel
// and commits their outcomes to state once confirmed, oldest first (send order).
//
// Commits are grouped: confirmed batches gather into one transaction of up to
// kCommitRecords records (or whatever kCommitEvery brought), which runs on a committer
// thread while the next batches are sent. A per-request transaction would cost a round
// trip per statement for every 75 records and hold the sender back; a crash between a
// send and its commit only means the next run sends those rows again, which every
// destination applies idempotently (upsert by key).
//
// With more than one committer (AddCommitter, each on its own connection), groups commit
// in parallel: a run reads every row once, so two groups never share a warehouse_id. Two
// groups can still meet on a destination_id (the CRM merged two records in the middle of
// a run): one commit then fails on the unique index or a deadlock, and is retried once
// after every other commit has finished, when it sees the other's mapping and takes the
// id over (so the id goes to the retried group's record, not always the later one).
//
// In plan mode nothing is sent: every record gets the outcome it would have, committed as
// planned change_log rows.
#pragma once

#include <deque>
#include <functional>
#include <future>
#include <map>
#include <string>
#include <vector>

#include "app/plan_report.h"
#include "backflow/config.h"
#include "backflow/destination.h"
#include "delivery/channel.h"
#include "state/delivery_store.h"
#include "state/run_store.h"

namespace backflow {

struct FailureExample {
  long long count = 0;
  std::string reason;
  std::string warehouse_id;
};

class BatchPipeline {
 public:
  // plan != nullptr: dry run. REQUIRES: all pointers outlive the pipeline.
  BatchPipeline(const SyncConfig* sync, const DestinationConfig* destination,
                DestinationChannel* channel, DeliveryStore* store, Clock* clock,
                Telemetry* telemetry, long long run_id, PlanWriter* plan);

  // Sends (or plans) one batch; may first wait for the oldest in-flight batch. With
  // `bulk`, the batch goes through the destination's bulk API as one job, and Submit
  // returns once another job could start (it waits for the oldest when all are busy).
  [[nodiscard]] Status Submit(RecordBatch batch, bool bulk = false);
  // Another store, on its own connection, that commits groups in parallel with the rest.
  void AddCommitter(DeliveryStore* store) { committers_.push_back(store); }

  // Waits for everything in flight and commits it; returns once state is written.
  [[nodiscard]] Status Drain();
  // Commits a batch whose outcomes are already known (a resumed bulk job) as if it had
  // just been delivered, and returns once it is written.
  [[nodiscard]] Status Commit(RecordBatch batch, DeliveryResult result);

  // Called after every commit with (rows done, rows total); the total is set by the
  // runner once the delta is known. Also logs "Progress." every kProgressEvery.
  using ProgressFn = std::function<void(long long done, long long total)>;
  void SetProgress(long long total, ProgressFn fn) {
    progress_total_ = total;
    progress_ = std::move(fn);
  }
  static constexpr std::chrono::seconds kProgressEvery{10};
  // Bulk jobs in flight at once: each holds its records in memory (its upload only until
  // it is sent). Two keep one job uploading while the other is processed and polled.
  static constexpr size_t kMaxBulkInFlight = 2;
  // A commit group closes at this many records, or this long after its first batch.
  static constexpr size_t kCommitRecords = 5000;
  static constexpr std::chrono::milliseconds kCommitEvery{1000};

  const RunCounts& counts() const { return counts_; }
  const std::map<std::string, FailureExample>& failures() const { return failures_; }
  // Set when the channel stopped (auth refused, pause, cancel): send nothing more.
  const Status& channel_status() const { return channel_status_; }

 private:
  // The batch is shared with the channel, not copied; once `result` is ready the
  // channel no longer reads it and its records move on to the commit group.
  struct InFlight {
    std::shared_ptr<RecordBatch> batch;
    std::future<DeliveryResult> result;
  };
  // Confirmed records waiting for their transaction.
  struct CommitGroup {
    std::vector<std::string> fields;
    std::vector<Record> records;
    std::vector<RecordOutcome> outcomes;
    SteadyTime opened;
  };
  // Waits for the oldest in-flight batch and collects it.
  [[nodiscard]] Status CollectOldest();
  // Counts a confirmed batch and moves its records into the open group, which is handed
  // to a committer whenever it is full (a large batch fills several) or old enough.
  [[nodiscard]] Status Collect(RecordBatch batch, DeliveryResult result);
  // A group handed to a committer thread.
  struct Committing {
    DeliveryStore* store;
    std::shared_ptr<CommitGroup> group;
    BatchCommit commit;
    std::future<Status> done;
  };
  // Hands the open group to a free committer (waiting for the oldest commit when all are
  // busy).
  [[nodiscard]] Status StartCommit();
  // Waits for the oldest commit in progress, if any; retries it once if it failed.
  [[nodiscard]] Status WaitOldestCommit();
  // Waits for every commit in progress.
  [[nodiscard]] Status WaitCommits();
  // Counts the first n outcomes, leaving out the unsent; false when none was confirmed.
  bool CountOutcomes(const std::vector<Record>& records, const std::vector<RecordOutcome>& outcomes,
                     size_t n);
  void PlanBatch(const RecordBatch& batch, std::vector<RecordOutcome>* outcomes);

  const SyncConfig* sync_;
  const DestinationConfig* destination_;
  DestinationChannel* channel_;
  DeliveryStore* store_;
  Clock* clock_;
  Telemetry* telemetry_;
  long long run_id_;
  PlanWriter* plan_;
  size_t max_in_flight_;
  std::deque<InFlight> in_flight_;
  CommitGroup group_;
  std::vector<DeliveryStore*> committers_;  // store_ first
  std::deque<Committing> committing_;       // oldest first
  RunCounts counts_;
  std::map<std::string, FailureExample> failures_;
  Status channel_status_;
  long long progress_total_ = 0;
  ProgressFn progress_;
  SteadyTime started_;
  SteadyTime last_progress_log_;
};

}  // namespace backflow
