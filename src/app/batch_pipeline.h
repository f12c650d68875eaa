// BatchPipeline: keeps up to max_concurrency batches in flight on a destination's channel
// and commits each one's outcomes to state as soon as it is confirmed — oldest first, so
// commits happen on the runner's thread in send order. In plan mode nothing is sent:
// every record gets the outcome it would have, committed as planned change_log rows.
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
  // `bulk`, the batch goes through the destination's bulk API as one job.
  [[nodiscard]] Status Submit(RecordBatch batch, bool bulk = false);
  // Waits for and commits everything in flight.
  [[nodiscard]] Status Drain();
  // Commits a batch whose outcomes are already known (a resumed bulk job) as if it had
  // just been delivered.
  [[nodiscard]] Status Commit(const RecordBatch& batch, const DeliveryResult& result);

  // Called after every commit with (rows done, rows total); the total is set by the
  // runner once the delta is known. Also logs "Progress." every kProgressEvery.
  using ProgressFn = std::function<void(long long done, long long total)>;
  void SetProgress(long long total, ProgressFn fn) {
    progress_total_ = total;
    progress_ = std::move(fn);
  }
  static constexpr std::chrono::seconds kProgressEvery{10};
  // Bulk jobs in flight at once: each holds its records and upload in memory.
  static constexpr size_t kMaxBulkInFlight = 4;

  const RunCounts& counts() const { return counts_; }
  const std::map<std::string, FailureExample>& failures() const { return failures_; }
  // Set when the channel stopped (auth refused, pause, cancel): send nothing more.
  const Status& channel_status() const { return channel_status_; }

 private:
  struct InFlight {
    RecordBatch batch;
    std::future<DeliveryResult> result;
  };
  [[nodiscard]] Status CommitOldest();
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
  RunCounts counts_;
  std::map<std::string, FailureExample> failures_;
  Status channel_status_;
  long long progress_total_ = 0;
  ProgressFn progress_;
  SteadyTime started_;
  SteadyTime last_progress_log_;
};

}  // namespace backflow
