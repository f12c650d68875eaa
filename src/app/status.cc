// `backflow status [--json]`: the dashboard's facts on a terminal.
#include <unistd.h>

#include <iostream>

#include "app/commands.h"
#include "app/sync_runner.h"
#include "config/config.h"
#include "config/cron.h"
#include "observability/dashboard_data.h"
#include "observability/status_format.h"
#include "source/postgres.h"
#include "state/migrations.h"

namespace backflow {

std::optional<Config> LoadForCommand(const GlobalOptions& g);

// When the daemon will next start `sync`: its schedule applied to its last start.
std::optional<WallTime> NextRunFor(const SyncConfig& sync, const std::optional<WallTime>& last,
                                   WallTime now) {
  if (!sync.schedule.every && !sync.schedule.cron) return std::nullopt;
  WallTime next = NextRunTime(sync.schedule, last.value_or(now));
  if (next == WallTime::max()) return std::nullopt;
  return next < now ? now : next;
}

int CommandStatus(const GlobalOptions& g, bool json) {
  auto config = LoadForCommand(g);
  if (!config) return kExitUsage;
  auto conn = PgConnection::Open(config->warehouse.dsn);
  if (!conn.ok()) {
    std::cerr << "backflow: cannot reach the warehouse: " << conn.status().message() << "\n";
    return kExitFailure;
  }
  Status st = Migrate(**conn, config->warehouse.state_schema);
  if (!st.ok()) {
    std::cerr << "backflow: " << st.message() << "\n";
    return kExitFailure;
  }
  WallTime now = Clock::Real()->WallNow();
  DashboardLoadOptions opts;
  opts.recent_runs = 5;
  Result<DashboardData> data = LoadDashboardData(**conn, config->warehouse.state_schema, *config,
                                                 now, opts);
  if (!data.ok()) {
    std::cerr << "backflow: " << data.status().message() << "\n";
    return kExitFailure;
  }
  // Next runs follow each sync's schedule from its last start.
  for (auto& d : data->destinations)
    for (auto& s : d.syncs) {
      const SyncConfig& sc = config->syncs.at(s.name);
      std::optional<WallTime> last;
      for (const auto& r : s.recent_runs)
        if (r.kind != "plan") {
          last = r.started_at;
          break;
        }
      s.next_run = NextRunFor(sc, last, now);
    }
  if (json) {
    std::cout << FormatStatusJson(*data) << "\n";
  } else {
    StatusFormatOptions f;
    f.tty = ::isatty(STDOUT_FILENO) != 0;
    std::cout << FormatStatusTable(*data, f);
  }
  return kExitOk;
}

}  // namespace backflow
