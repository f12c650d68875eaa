// In-process resilience runs: a real Postgres database, an in-process sandbox serving
// every emulator (Salesforce's too, when AddAll does not carry it yet) and the daemon's
// engine (Runtime + SyncRunner), all on one ManualClock, so backoff, rate limits and the
// sandbox's hidden rate-limit window move without real waiting.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include "app/runtime.h"
#include "app/sync_runner.h"
#include "backflow/clock.h"
#include "config/config.h"
#include "destinations/registry.h"
#include "destinations/salesforce/emulator.h"
#include "resilience/profiles.h"
#include "sandbox/sandbox.h"
#include "support/test_postgres.h"

namespace backflow::resilience {

class InProcess : public ::testing::TestWithParam<std::string> {
 protected:
  // `sandbox_on_manual_clock`: the sandbox's hidden rate limit and latency use clock_.
  void StartSandbox(bool sandbox_on_manual_clock, uint64_t seed) {
    clock_ = std::make_unique<ManualClock>(std::chrono::system_clock::now());
    sandbox::SandboxOptions opts;
    opts.seed = seed;
    if (sandbox_on_manual_clock) opts.clock = clock_.get();
    sandbox_ = std::make_unique<sandbox::Sandbox>(opts);
    sandbox_->AddAll();
    if (sandbox_->Find("salesforce") == nullptr)
      sandbox_->Add(std::make_unique<salesforce::SalesforceEmulator>(Clock::Real()));
    auto port = sandbox_->Start();
    ASSERT_TRUE(port.ok()) << port.status().ToString();
  }

  void TearDown() override {
    runtime_.reset();
    if (sandbox_) sandbox_->Stop();
  }

  // REQUIRES: StartSandbox. ${DSN} and ${SANDBOX} are replaced.
  void Configure(const std::string& yaml) {
    auto env = [this](const std::string& name) -> std::optional<std::string> {
      if (name == "DSN") return db_.dsn();
      if (name == "SANDBOX") return sandbox_->base_url();
      return std::nullopt;
    };
    ConfigErrors errors;
    auto config = ParseConfigText(yaml, env, &errors);
    std::string all;
    for (const auto& e : errors) all += e.ToString() + "\n";
    ASSERT_TRUE(config.ok()) << all << yaml;
    RuntimeDeps deps;
    deps.clock = clock_.get();
    runtime_.reset();
    auto rt = Runtime::Create(std::move(config).value(), deps);
    ASSERT_TRUE(rt.ok()) << rt.status().ToString();
    runtime_ = std::move(rt).value();
  }

  // Fails the test (with a message naming the missing piece) when the destination type
  // is not linked into backflow yet — Salesforce lands after HubSpot and Braze.
  bool DestinationLinked(const Profile& p) {
    const std::string type = p.emulator;
    if (FindDestinationType(type) == nullptr) {
      ADD_FAILURE() << "destination type '" << type
                    << "' is not registered in src/destinations/registry.cc yet";
      return false;
    }
    return true;
  }

  RunReport Sync(const std::string& name = "people", RunOptions options = {}) {
    SyncRunner runner(runtime_.get());
    return runner.Run(name, options);
  }

  json Records(const Profile& p) { return sandbox_->Find(p.emulator)->Records(); }
  long long Count(const std::string& sql) { return db_.Count(sql); }

  testing::TestDatabase db_;
  std::unique_ptr<ManualClock> clock_;
  std::unique_ptr<sandbox::Sandbox> sandbox_;
  std::unique_ptr<Runtime> runtime_;
};

inline std::string ParamName(const ::testing::TestParamInfo<std::string>& info) {
  return info.param;
}

}  // namespace backflow::resilience
