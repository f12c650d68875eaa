// Daemon: `backflow run`. Schedules every sync by its `schedule` until SIGTERM/SIGINT.
//
// Each sync has its own scheduler thread, so a slow or failing destination never holds
// back another; syncs sharing a destination share its channel (and so its rate budget).
// Several daemons may run on one state schema: a sync runs wherever its advisory lease
// is free, and a dead daemon's lease vanishes with its connection.
//   SIGTERM/SIGINT: no new batches; in-flight ones finish and commit (bounded by
//                   kDrainTimeout, then delivery is cancelled); exit 0.
//   SIGHUP:         reload the config; an invalid one is refused (logged) and the old one
//                   keeps running; a valid one takes over once in-flight runs finish.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "app/runtime.h"
#include "backflow/config.h"
#include "observability/http_server.h"
#include "observability/metrics.h"

namespace backflow {

class Daemon {
 public:
  static constexpr std::chrono::seconds kDrainTimeout{60};

  explicit Daemon(std::string config_path) : config_path_(std::move(config_path)) {}
  // Blocks until stopped; returns the exit code.
  int Run();

  // Signal entry points (called from the signal thread).
  void RequestStop();
  void RequestReload();

  // For /healthz: the scheduler threads are alive and the warehouse answered recently.
  bool Healthy() const;

 private:
  struct SyncThread {
    std::thread thread;
    std::atomic<bool> running_now{false};
  };
  void StartSchedulers();
  void StopSchedulers(bool cancel_after_timeout);
  void SchedulerLoop(const std::string& sync_name, SyncThread* self);
  bool WaitUntil(WallTime when);  // false when woken for stop/reload
  void Reload();
  void CheckWarehouse();
  [[nodiscard]] Status StartHttp();
  // What the dashboard and /api/runs show, read fresh from the state schema.
  std::string DashboardHtml();
  nlohmann::json RunsJson();

  std::string config_path_;
  BackflowMetrics metrics_;  // outlives config reloads: counters stay monotonic
  std::unique_ptr<Runtime> runtime_;
  std::unique_ptr<HttpEndpoint> http_;
  std::map<std::string, std::unique_ptr<SyncThread>> threads_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool reload_ = false;
  bool generation_done_ = false;  // the scheduler threads of this config must return
  std::atomic<bool> warehouse_ok_{false};
  std::atomic<long long> heartbeat_{0};
  std::atomic<bool> schedulers_alive_{false};
};

}  // namespace backflow
