// A `backflow run` daemon as operators meet it: the real binary, a config YAML written to a
// temp dir, a real Postgres warehouse, and backflow-sandbox in a process of its own
// standing in for HubSpot. The temp dir (config, logs) is kept when a test fails.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "daemon/process.h"
#include "daemon/warehouse.h"
#include "support/test_postgres.h"

namespace backflow::daemon_test {

// A `syncs:` entry: HubSpot contacts from analytics.<table>.
inline std::string ContactSync(const std::string& name, const std::string& moment,
                               const std::string& table, const std::string& schedule) {
  return "  " + name + ":\n"
         "    moment: \"" + moment + "\"\n"
         "    destination: hubspot\n"
         "    object: contacts\n"
         "    model: { table: analytics." + table + " }\n"
         "    primary_key: user_id\n"
         "    match: { id_property: warehouse_id }\n"
         "    fields: { warehouse_id: user_id, email: email, lead_score: score, "
         "lifecyclestage: stage }\n"
         "    schedule: " + schedule + "\n";
}

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("bf-daemon-");
    ASSERT_FALSE(dir_.empty());
    config_path_ = dir_ + "/backflow.yaml";
    sandbox_ = std::make_unique<SandboxProcess>(dir_);
    ASSERT_TRUE(sandbox_->ready()) << Tail(sandbox_->process().Log());
    http_port_ = FreePort();
    ASSERT_GT(http_port_, 0);
  }
  void TearDown() override {
    daemon_.reset();  // SIGKILL if a test left it running
    sandbox_.reset();
    if (!HasFailure()) std::filesystem::remove_all(dir_);
    else std::cerr << "daemon test evidence kept in " << dir_ << "\n";
  }

  // The YAML: warehouse `dsn`, the sandbox as HubSpot, observability on http_port_, then
  // `syncs` (ContactSync entries).
  std::string ConfigYaml(const std::string& dsn, const std::string& syncs) const {
    return "warehouse:\n  dsn: \"" + dsn + "\"\n"
           "observability:\n  log_format: json\n  http_listen: \"127.0.0.1:" +
           std::to_string(http_port_) + "\"\n"
           "destinations:\n  hubspot:\n    type: hubspot\n"
           "    base_url: \"" + sandbox_->base_url() + "\"\n"
           "    token: sandbox-hubspot-token\n"
           "    rate_limit: { requests: 1000, per: 10s }\n"
           "    retry: { max_attempts: 3, initial_backoff: 100ms, max_backoff: 1s }\n"
           "syncs:\n" + syncs;
  }
  void WriteConfig(const std::string& dsn, const std::string& syncs) {
    WriteFile(config_path_, ConfigYaml(dsn, syncs));
  }

  // `backflow --config dir/backflow.yaml run`; returns once /healthz answers at all.
  void StartDaemon() {
    daemon_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{BACKFLOW_BINARY_DIR "/backflow", "--config", config_path_,
                                 "run"},
        dir_ + "/daemon.log");
    ASSERT_TRUE(daemon_->started());
    ASSERT_TRUE(WaitFor([&] { return !daemon_->Running() || HealthStatus() != 0; }, seconds(20)));
    ASSERT_TRUE(daemon_->Running()) << DaemonLog();
  }

  // SIGTERM: the daemon must exit 0 within `timeout`, logging "Daemon stopped.".
  void StopDaemon(milliseconds timeout = seconds(10)) {
    ASSERT_TRUE(daemon_);
    const auto sent = SteadyClock::now();
    daemon_->Signal(SIGTERM);
    std::optional<int> code = daemon_->Wait(timeout);
    ASSERT_TRUE(code.has_value()) << "still running " << timeout.count() << " ms after SIGTERM\n"
                                  << DaemonLog();
    EXPECT_EQ(*code, 0) << DaemonLog();
    EXPECT_TRUE(daemon_->LogContains("Daemon stopped.")) << DaemonLog();
    stop_took_ = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - sent);
  }

  // Finished (not `running`) runs of `sync` in sync_runs; -1 before the schema exists.
  long long FinishedRuns(const std::string& dsn, const std::string& sync,
                         const std::string& extra = "") const {
    return CountOr(dsn, "SELECT count(*) FROM backflow.sync_runs WHERE sync_name = '" + sync +
                            "' AND status <> 'running'" + extra);
  }
  [[nodiscard]] bool WaitForFinishedRuns(const std::string& dsn, const std::string& sync,
                                         long long n, milliseconds timeout = seconds(30)) const {
    return WaitFor([&] { return FinishedRuns(dsn, sync) >= n; }, timeout, milliseconds(100));
  }

  std::optional<HttpAnswer> Get(const std::string& path) const {
    return HttpGet(http_port_, path);
  }
  int HealthStatus() const {
    auto a = Get("/healthz");
    return a ? a->status : 0;
  }
  std::string DaemonLog() const { return daemon_ ? Tail(daemon_->Log()) : "(no daemon)"; }

  std::string dir_;
  std::string config_path_;
  int http_port_ = 0;
  milliseconds stop_took_{0};
  std::unique_ptr<SandboxProcess> sandbox_;
  std::unique_ptr<ChildProcess> daemon_;
};

}  // namespace backflow::daemon_test
