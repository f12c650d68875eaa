// Runtime: what one backflow process builds from a validated Config — a Destination and
// a DestinationChannel per configured destination (shared by every sync that targets it),
// the HTTP transport, clock, randomness and telemetry — and the process-wide stop flag.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backflow/clock.h"
#include "backflow/config.h"
#include "backflow/destination.h"
#include "backflow/http.h"
#include "backflow/status.h"
#include "backflow/telemetry.h"
#include "delivery/bulk_journal.h"
#include "delivery/channel.h"
#include "observability/metrics.h"
#include "observability/telemetry.h"

namespace backflow {

// The outside world, injectable for tests. Null members get the real thing.
struct RuntimeDeps {
  HttpTransport* transport = nullptr;  // default: libcurl
  Clock* clock = nullptr;              // default: Clock::Real()
  Random* random = nullptr;            // default: seeded from the time
  BackflowMetrics* metrics = nullptr;  // default: the runtime's own (the daemon passes one
                                       // that outlives config reloads)
};

class Runtime {
 public:
  // Creates every destination and its channel.
  static Result<std::unique_ptr<Runtime>> Create(Config config, RuntimeDeps deps = {});
  ~Runtime();

  const Config& config() const { return config_; }
  const SyncConfig* sync(const std::string& name) const;
  Destination* destination(const std::string& name) const;
  DestinationChannel* channel(const std::string& name) const;
  Clock* clock() const { return clock_; }
  MetricsTelemetry* telemetry() const { return telemetry_.get(); }
  RunEvents* run_events() const { return run_events_.get(); }
  BackflowMetrics* metrics() const { return metrics_; }

  // A stop was requested (SIGTERM): runs finish their in-flight batches and stop.
  bool stop_requested() const { return stop_.load(); }
  void RequestStop() { stop_.store(true); }
  // Past the drain timeout: tell every channel to stop waiting and retrying.
  void CancelDelivery();

 private:
  Runtime() = default;
  Config config_;
  std::unique_ptr<HttpTransport> owned_transport_;
  std::unique_ptr<Random> owned_random_;
  HttpTransport* transport_ = nullptr;
  Clock* clock_ = nullptr;
  Random* random_ = nullptr;
  std::unique_ptr<BackflowMetrics> owned_metrics_;
  BackflowMetrics* metrics_ = nullptr;
  std::unique_ptr<MetricsTelemetry> telemetry_;
  std::unique_ptr<RunEvents> run_events_;
  std::map<std::string, std::unique_ptr<Destination>> destinations_;
  std::map<std::string, std::unique_ptr<DestinationChannel>> channels_;
  // One per destination with a bulk API (each opens its own connection when first used).
  std::vector<std::unique_ptr<BulkJobJournal>> bulk_journals_;
  std::atomic<bool> stop_{false};
};

}  // namespace backflow
