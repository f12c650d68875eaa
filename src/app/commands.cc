#include "app/commands.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>

#include <iostream>

#include "app/plan_report.h"
#include "app/runtime.h"
#include "app/signals.h"
#include "app/sync_runner.h"
#include "config/config.h"
#include "observability/log.h"
#include "source/postgres.h"
#include "state/migrations.h"

namespace backflow {

// Loads and validates the config, printing every problem with its YAML path.
std::optional<Config> LoadForCommand(const GlobalOptions& g) {
  ConfigErrors errors;
  Result<Config> config = LoadConfig(g.config_path, ProcessEnv(), &errors);
  if (!config.ok()) {
    std::cerr << "backflow: the configuration has " << errors.size()
              << (errors.size() == 1 ? " problem" : " problems") << ":\n";
    for (const auto& e : errors) std::cerr << "  " << e.ToString() << "\n";
    if (errors.empty()) std::cerr << "  " << config.status().message() << "\n";
    return std::nullopt;
  }
  log::Init(config->observability);
  return std::move(config).value();
}

std::optional<double> ParseSampleFlag(const std::optional<std::string>& sample, bool* bad) {
  *bad = false;
  if (!sample) return std::nullopt;
  auto p = ParsePercent(*sample);
  if (!p || *p <= 0) {
    std::cerr << "backflow: --sample takes a percentage such as 1%, 0.5% or 100%, got '"
              << *sample << "'\n";
    *bad = true;
  }
  return p;
}

namespace {

int RunOnce(const GlobalOptions& g, const std::string& name, RunOptions options) {
  auto config = LoadForCommand(g);
  if (!config) return kExitUsage;
  if (!config->syncs.count(name)) {
    std::cerr << "backflow: no sync named '" << name << "' (syncs:";
    for (const auto& [n, s] : config->syncs) std::cerr << " " << n;
    std::cerr << ")\n";
    return kExitUsage;
  }
  auto rt = Runtime::Create(std::move(*config));
  if (!rt.ok()) {
    std::cerr << "backflow: " << rt.status().message() << "\n";
    return kExitUsage;
  }
  Runtime* runtime = rt->get();
  // SIGTERM/SIGINT: finish in-flight batches, commit, stop; a second signal cancels.
  SignalWatcher signals([runtime](int sig) {
    if (sig == SIGHUP) return;
    if (runtime->stop_requested()) runtime->CancelDelivery();
    runtime->RequestStop();
  });
  // A progress bar on a terminal (never in logs or pipes).
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  if (tty && !options.plan) {
    options.progress = [](long long done, long long total) {
      if (total <= 0) return;
      int width = 30;
      int filled = static_cast<int>(width * std::min(1.0, static_cast<double>(done) / total));
      std::fprintf(stderr, "\r[%s%s] %lld/%lld rows", std::string(filled, '#').c_str(),
                   std::string(width - filled, ' ').c_str(), done, total);
      if (done >= total) std::fprintf(stderr, "\n");
      std::fflush(stderr);
    };
  }
  SyncRunner runner(runtime);
  RunReport report = runner.Run(name, options);
  if (options.plan) {
    Status st = options.plan->Finish(std::cout, report.run.run_id);
    if (!st.ok()) std::cerr << "backflow: " << st.message() << "\n";
  } else {
    const RunCounts& c = report.run.counts;
    std::cout << name << ": " << report.run.status << " — read " << c.rows_read << ", changed "
              << c.rows_changed << ", attempted " << c.rows_attempted << ", succeeded "
              << c.rows_succeeded << ", failed " << c.rows_failed << ", rejected "
              << c.rows_rejected << ", skipped " << c.rows_skipped;
    if (c.rows_deleted) std::cout << ", deleted " << c.rows_deleted;
    std::cout << " (" << c.api_requests << " API requests, run " << report.run.run_id << ")\n";
  }
  if (!report.status.ok()) std::cerr << "backflow: " << report.status.message() << "\n";
  return report.exit_code;
}

}  // namespace

int CommandSync(const GlobalOptions& g, const std::string& sync, bool full,
                const std::optional<std::string>& sample, bool force) {
  bool bad = false;
  RunOptions o;
  o.kind = "sync";
  o.full = full;
  o.force = force;
  o.sample = ParseSampleFlag(sample, &bad);
  if (bad) return kExitUsage;
  return RunOnce(g, sync, o);
}

int CommandPlan(const GlobalOptions& g, const std::string& sync,
                const std::optional<std::string>& sample, const std::string& output) {
  bool bad = false;
  RunOptions o;
  o.kind = "plan";
  o.sample = ParseSampleFlag(sample, &bad);
  if (bad) return kExitUsage;
  PlanWriter writer;
  Status st = writer.Open(output, sync);
  if (!st.ok()) {
    std::cerr << "backflow: " << st.message() << "\n";
    return kExitUsage;
  }
  o.plan = &writer;
  return RunOnce(g, sync, o);
}

int CommandRetry(const GlobalOptions& g, const std::string& sync) {
  RunOptions o;
  o.kind = "retry";
  return RunOnce(g, sync, o);
}

int CommandMigrate(const GlobalOptions& g) {
  auto config = LoadForCommand(g);
  if (!config) return kExitUsage;
  auto conn = PgConnection::Open(config->warehouse.dsn);
  if (!conn.ok()) {
    std::cerr << "backflow: cannot reach the warehouse: " << conn.status().message() << "\n";
    return kExitFailure;
  }
  Status st = Migrate(**conn, config->warehouse.state_schema);
  if (!st.ok()) {
    std::cerr << "backflow: migration failed: " << st.message() << "\n";
    return kExitFailure;
  }
  std::cout << "State schema " << config->warehouse.state_schema << " is at version "
            << LatestSchemaVersion() << ".\n";
  return kExitOk;
}

}  // namespace backflow
