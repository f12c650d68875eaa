// The integration harness: a real Postgres database, an in-process backflow-sandbox with
// every emulator, and the daemon's own engine (Runtime + SyncRunner) configured from YAML.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "app/runtime.h"
#include "app/sync_runner.h"
#include "backflow/clock.h"
#include "config/config.h"
#include "sandbox/sandbox.h"
#include "support/test_postgres.h"

namespace backflow::testing {

class Harness : public ::testing::Test {
 protected:
  void SetUp() override {
    sandbox::SandboxOptions opts;
    opts.seed = 7;
    sandbox_ = std::make_unique<sandbox::Sandbox>(opts);
    sandbox_->AddAll();
    auto port = sandbox_->Start();
    ASSERT_TRUE(port.ok()) << port.status().ToString();
    clock_ = std::make_unique<ManualClock>(std::chrono::system_clock::now());
  }
  void TearDown() override {
    runtime_.reset();
    if (sandbox_) sandbox_->Stop();
  }

  // Builds the runtime from YAML; ${DSN} and ${SANDBOX} are replaced.
  void Configure(const std::string& yaml, bool manual_clock = true) {
    auto env = [this](const std::string& name) -> std::optional<std::string> {
      if (name == "DSN") return db_.dsn();
      if (name == "SANDBOX") return sandbox_->base_url();
      return std::nullopt;
    };
    ConfigErrors errors;
    auto config = ParseConfigText(yaml, env, &errors);
    std::string all;
    for (const auto& e : errors) all += e.ToString() + "\n";
    ASSERT_TRUE(config.ok()) << all;
    RuntimeDeps deps;
    if (manual_clock) deps.clock = clock_.get();
    runtime_.reset();
    auto rt = Runtime::Create(std::move(config).value(), deps);
    ASSERT_TRUE(rt.ok()) << rt.status().ToString();
    runtime_ = std::move(rt).value();
  }

  RunReport Sync(const std::string& name, RunOptions options = {}) {
    SyncRunner runner(runtime_.get());
    return runner.Run(name, options);
  }

  long long Count(const std::string& sql) { return db_.Count(sql); }

  TestDatabase db_;
  std::unique_ptr<sandbox::Sandbox> sandbox_;
  std::unique_ptr<ManualClock> clock_;
  std::unique_ptr<Runtime> runtime_;
};

}  // namespace backflow::testing
