// The integration harness: a real Postgres database, an in-process backflow-sandbox with
// every emulator, and the daemon's own engine (Runtime + SyncRunner) configured from YAML.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>

#include "app/plan_report.h"
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

  // Runs `plan` of sync `name`, returning the JSON it wrote with --output.
  nlohmann::json Plan(const std::string& name, RunReport* report,
                      std::optional<double> sample = std::nullopt) {
    const std::string path = std::filesystem::temp_directory_path() /
                             ("bf_plan_" + std::to_string(::getpid()) + ".json");
    PlanWriter writer;
    EXPECT_TRUE(writer.Open(path, name).ok());
    RunOptions o;
    o.kind = "plan";
    o.plan = &writer;
    o.sample = sample;
    *report = Sync(name, o);
    std::ostringstream terminal;
    EXPECT_TRUE(writer.Finish(terminal, report->run.run_id).ok());
    std::ifstream in(path);
    nlohmann::json doc = nlohmann::json::parse(in, nullptr, false);
    std::filesystem::remove(path);
    return doc;
  }

  long long Count(const std::string& sql) { return db_.Count(sql); }

  TestDatabase db_;
  std::unique_ptr<sandbox::Sandbox> sandbox_;
  std::unique_ptr<ManualClock> clock_;
  std::unique_ptr<Runtime> runtime_;
};

}  // namespace backflow::testing
