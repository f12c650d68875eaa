#include "app/daemon.h"

#include <signal.h>

#include "app/commands.h"
#include "app/signals.h"
#include "app/sync_runner.h"
#include "config/config.h"
#include "config/cron.h"
#include "observability/dashboard.h"
#include "observability/dashboard_data.h"
#include "observability/log.h"
#include "observability/systemd.h"
#include "source/postgres.h"
#include "state/migrations.h"

namespace backflow {

std::optional<Config> LoadForCommand(const GlobalOptions& g);
std::optional<WallTime> NextRunFor(const SyncConfig& sync, const std::optional<WallTime>& last,
                                   WallTime now);

namespace {
// How soon a daemon tries again for a sync whose lease another daemon holds, so that it
// takes over quickly when that daemon dies.
constexpr std::chrono::seconds kLeaseRetry{30};
}  // namespace

void Daemon::RequestStop() {
  std::lock_guard<std::mutex> lock(mu_);
  if (stop_ && runtime_) runtime_->CancelDelivery();  // a second signal: stop waiting
  stop_ = true;
  if (runtime_) runtime_->RequestStop();
  cv_.notify_all();
}

void Daemon::RequestReload() {
  std::lock_guard<std::mutex> lock(mu_);
  reload_ = true;
  cv_.notify_all();
}

bool Daemon::Healthy() const { return warehouse_ok_.load() && schedulers_alive_.load(); }

bool Daemon::WaitUntil(WallTime when) {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_ && !generation_done_) {
    WallTime now = Clock::Real()->WallNow();
    if (now >= when) return true;
    cv_.wait_for(lock, std::min<std::chrono::nanoseconds>(when - now, std::chrono::seconds(5)));
  }
  return false;
}

void Daemon::SchedulerLoop(const std::string& name, SyncThread* self) {
  const SyncConfig* sync = runtime_->sync(name);
  SyncRunner runner(runtime_.get());
  WallTime next = Clock::Real()->WallNow();  // a (re)started daemon runs each sync at once
  while (WaitUntil(next)) {
    WallTime started = Clock::Real()->WallNow();
    self->running_now = true;
    RunReport report = runner.Run(name, RunOptions{});
    self->running_now = false;
    heartbeat_++;
    next = NextRunTime(sync->schedule, started);
    if (report.lease_held_elsewhere) {
      log::Debug("Sync is running in another backflow process; will check again.",
                 {{"sync", name}});
      next = std::min(next, started + kLeaseRetry);
    }
    if (next == WallTime::max()) {
      log::Info("Sync has no schedule; it runs only when asked (backflow sync).", {{"sync", name}});
      return;
    }
  }
}

void Daemon::StartSchedulers() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    generation_done_ = false;
  }
  for (const auto& [name, sync] : runtime_->config().syncs) {
    auto t = std::make_unique<SyncThread>();
    SyncThread* raw = t.get();
    threads_[name] = std::move(t);
    raw->thread = std::thread([this, name = name, raw] { SchedulerLoop(name, raw); });
  }
}

void Daemon::StopSchedulers(bool stopping) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    generation_done_ = true;
    cv_.notify_all();
  }
  if (stopping) {
    // In-flight batches finish and commit; past the drain timeout, stop waiting on
    // rate limits and retries (unsent rows stay pending for the next run).
    auto deadline = std::chrono::steady_clock::now() + kDrainTimeout;
    bool busy = true;
    while (busy && std::chrono::steady_clock::now() < deadline) {
      busy = false;
      for (auto& [n, t] : threads_) busy |= t->running_now.load();
      if (busy) {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait_for(lock, std::chrono::milliseconds(100));
      }
    }
    if (busy) {
      log::Warn("Drain timeout reached; cancelling delivery. Unsent rows stay pending.",
                {{"timeout_s", kDrainTimeout.count()}});
      runtime_->CancelDelivery();
    }
  }
  for (auto& [n, t] : threads_)
    if (t->thread.joinable()) t->thread.join();
  threads_.clear();
}

void Daemon::CheckWarehouse() {
  auto conn = PgConnection::Open(runtime_->config().warehouse.dsn);
  bool ok = conn.ok() && (*conn)->NonTransaction("ping", [](pqxx::nontransaction& tx) {
                                  tx.exec("SELECT 1");
                                }).ok();
  if (ok != warehouse_ok_.exchange(ok)) {
    if (ok) log::Info("Warehouse reachable.");
    else log::Error("Warehouse unreachable; runs will fail until it is back.",
                    {{"error", conn.ok() ? "ping failed" : conn.status().message()}});
  }
}

namespace {

Result<DashboardData> LoadForDashboard(const Config& config,
                                       const std::map<std::string, std::string>& paused) {
  auto conn = PgConnection::Open(config.warehouse.dsn);
  if (!conn.ok()) return conn.status();
  WallTime now = Clock::Real()->WallNow();
  DashboardLoadOptions opts;
  opts.paused = paused;
  auto data = LoadDashboardData(**conn, config.warehouse.state_schema, config, now, opts);
  if (!data.ok()) return data.status();
  for (auto& d : data->destinations)
    for (auto& s : d.syncs) {
      std::optional<WallTime> last;
      for (const auto& r : s.recent_runs)
        if (r.kind != "plan") {
          last = r.started_at;
          break;
        }
      s.next_run = NextRunFor(config.syncs.at(s.name), last, now);
    }
  return data;
}

}  // namespace

std::string Daemon::DashboardHtml() {
  Config config;
  std::map<std::string, std::string> paused;
  {
    std::lock_guard<std::mutex> lock(mu_);
    config = runtime_->config();
    for (const auto& [name, d] : config.destinations)
      if (runtime_->channel(name)->paused()) paused[name] = "API quota used up; rows wait";
  }
  auto data = LoadForDashboard(config, paused);
  if (!data.ok()) throw std::runtime_error(data.status().message());
  return RenderDashboard(*data);
}

nlohmann::json Daemon::RunsJson() {
  Config config;
  {
    std::lock_guard<std::mutex> lock(mu_);
    config = runtime_->config();
  }
  auto data = LoadForDashboard(config, {});
  if (!data.ok()) throw std::runtime_error(data.status().message());
  return DashboardJson(*data);
}

Status Daemon::StartHttp() {
  const auto& listen = runtime_->config().observability.http_listen;
  if (!listen) return Status::Ok();
  HttpHandlers h;
  h.metrics = [this] { return metrics_.Render(); };
  h.healthy = [this] { return Healthy(); };
  h.runs_json = [this] { return RunsJson(); };
  h.dashboard_html = [this] { return DashboardHtml(); };
  http_ = std::make_unique<HttpEndpoint>(h);
  Status st = http_->Start(*listen);
  if (st.ok())
    log::Info("Serving /metrics, /healthz, /api/runs and the dashboard.",
              {{"listen", *listen}, {"port", http_->port()}});
  return st;
}

void Daemon::Reload() {
  ConfigErrors errors;
  Result<Config> config = LoadConfig(config_path_, ProcessEnv(), &errors);
  if (!config.ok()) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& e : errors) list.push_back(e.ToString());
    log::Error("Config reload refused; the previous configuration keeps running.",
               {{"config", config_path_}, {"problems", list}});
    return;
  }
  RuntimeDeps deps;
  deps.metrics = &metrics_;
  auto rt = Runtime::Create(std::move(config).value(), deps);
  if (!rt.ok()) {
    log::Error("Config reload refused; the previous configuration keeps running.",
               {{"error", rt.status().message()}});
    return;
  }
  log::Info("Reloading the config; in-flight runs finish first.", {{"config", config_path_}});
  systemd::Reloading();
  StopSchedulers(false);
  {
    std::lock_guard<std::mutex> lock(mu_);
    runtime_ = std::move(rt).value();
  }
  log::Init(runtime_->config().observability);
  StartSchedulers();
  systemd::Ready();
  log::Info("Config reloaded.", {{"syncs", runtime_->config().syncs.size()}});
}

int Daemon::Run() {
  ConfigErrors errors;
  GlobalOptions g{config_path_};
  auto config = LoadForCommand(g);
  if (!config) return kExitUsage;
  RuntimeDeps deps;
  deps.metrics = &metrics_;
  auto rt = Runtime::Create(std::move(*config), deps);
  if (!rt.ok()) {
    log::Error("Cannot start.", {{"error", rt.status().message()}});
    return kExitUsage;
  }
  runtime_ = std::move(rt).value();
  Status http = StartHttp();
  if (!http.ok()) {
    log::Error("Cannot serve observability.http_listen.", {{"error", http.message()}});
    return kExitFailure;
  }
  CheckWarehouse();
  StartSchedulers();
  schedulers_alive_ = true;
  systemd::Ready();
  // Pet the watchdog at least twice per WatchdogSec=, and no less than every 5 s.
  auto pet_every = std::chrono::milliseconds(5000);
  if (auto wd = systemd::WatchdogInterval())
    pet_every = std::min(pet_every, std::chrono::duration_cast<std::chrono::milliseconds>(*wd / 2));
  log::Info("Daemon started.", {{"syncs", runtime_->config().syncs.size()},
                                {"destinations", runtime_->config().destinations.size()}});
  auto last_check = std::chrono::steady_clock::now();
  while (true) {
    bool reload = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, pet_every, [this] { return stop_ || reload_; });
      if (stop_) break;
      reload = reload_;
      reload_ = false;
    }
    if (reload) Reload();
    systemd::Watchdog();
    if (std::chrono::steady_clock::now() - last_check > std::chrono::seconds(10)) {
      CheckWarehouse();
      last_check = std::chrono::steady_clock::now();
    }
  }
  schedulers_alive_ = false;
  systemd::Stopping();
  log::Info("Stopping: finishing in-flight batches.");
  StopSchedulers(true);
  if (http_) http_->Stop();
  log::Info("Daemon stopped.");
  return kExitOk;
}

int CommandRun(const GlobalOptions& g) {
  Daemon daemon(g.config_path);
  SignalWatcher signals([&daemon](int sig) {
    if (sig == SIGHUP) daemon.RequestReload();
    else daemon.RequestStop();
  });
  return daemon.Run();
}

}  // namespace backflow
