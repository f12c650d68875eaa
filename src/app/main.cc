// backflow: a reverse-ETL sync daemon. See README.md and the spec for the commands.
#include <jemalloc/jemalloc.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "app/commands.h"
#include "app/signals.h"
#include "app/sync_runner.h"
#include "config/config.h"

// backflow allocates with jemalloc (linked in CMakeLists.txt), configured by this string,
// which it reads at its first allocation. A run allocates and frees a few small strings
// per field of every row, and buffers of a few KiB to a few MiB per request and commit;
// glibc's malloc spent a third of backflow's CPU on that, merging its fast bins at every
// allocation over 1 KiB and mapping and unmapping every large buffer (CPU per 100k rows,
// 1M-row benchmark: Braze 0.84 -> 0.58 s, HubSpot 1.41 -> 0.95 s; README, Performance;
// peak RSS rises by 8-12 MB, to 47-55 MB, and stays flat in N). One arena: each
// thread allocates from its own cache, so the senders and committers rarely meet on the
// arena's lock, and a second arena cost 7 MB of resident memory for no speed. Freed pages
// go back to the system a second after their last use (not ten), in one step, by
// jemalloc's background thread: without it they are returned only as later allocations
// tick the arena, and a daemon idle after a 1M-row run stayed at 37 MB instead of 22.
// (jemalloc creates that thread with every signal blocked, as BlockWatchedSignals wants.)
const char* malloc_conf = "narenas:1,dirty_decay_ms:1000,muzzy_decay_ms:0,background_thread:true";

int main(int argc, char** argv) {
  // Before any thread exists: signals are taken by a SignalWatcher, never by a worker.
  backflow::BlockWatchedSignals();
  CLI::App app{"backflow — moves the warehouse rows that changed into Salesforce, HubSpot and Braze"};
  app.require_subcommand(1);
  backflow::GlobalOptions g;
  app.add_option("--config", g.config_path,
                 "config file or conf.d directory (default ./backflow.yaml, then "
                 "/etc/backflow/backflow.yaml)");

  auto* run = app.add_subcommand("run", "the daemon: schedules every sync until SIGTERM");

  std::string sync_name, sample, output;
  bool full = false, force = false, json = false;
  auto* sync = app.add_subcommand("sync", "one run of one sync, then exit");
  sync->add_option("NAME", sync_name, "the sync")->required();
  sync->add_flag("--full", full, "re-send every row of the model (ignore stored hashes)");
  sync->add_option("--sample", sample, "send only a deterministic PCT of rows, e.g. 1%");
  sync->add_flag("--force", force, "send a run that a guard would block (logged as forced)");

  auto* plan = app.add_subcommand("plan", "dry run: report what sync would do, send nothing");
  plan->add_option("NAME", sync_name, "the sync")->required();
  plan->add_option("--sample", sample, "plan only a deterministic PCT of rows, e.g. 1%");
  plan->add_option("--output", output, "also write the plan as JSON to FILE");

  auto* validate = app.add_subcommand(
      "validate", "check config, contracts, the warehouse connection and mapped columns");
  auto* status = app.add_subcommand("status", "per sync: last runs, failures, retry queue");
  status->add_flag("--json", json, "machine-readable output");
  auto* retry = app.add_subcommand("retry", "deliver the due rows of NAME's retry queue now");
  retry->add_option("NAME", sync_name, "the sync")->required();
  auto* migrate = app.add_subcommand("migrate", "create or upgrade the state schema");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : backflow::kExitUsage;
  }
  if (g.config_path.empty()) g.config_path = backflow::DefaultConfigPath();
  std::optional<std::string> sample_opt;
  if (!sample.empty()) sample_opt = sample;

  if (*run) return backflow::CommandRun(g);
  if (*sync) return backflow::CommandSync(g, sync_name, full, sample_opt, force);
  if (*plan) return backflow::CommandPlan(g, sync_name, sample_opt, output);
  if (*validate) return backflow::CommandValidate(g);
  if (*status) return backflow::CommandStatus(g, json);
  if (*retry) return backflow::CommandRetry(g, sync_name);
  if (*migrate) return backflow::CommandMigrate(g);
  return backflow::kExitUsage;
}
