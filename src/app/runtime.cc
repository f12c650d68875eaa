#include "app/runtime.h"

#include "destinations/registry.h"
#include "state/bulk_jobs.h"

namespace backflow {

Result<std::unique_ptr<Runtime>> Runtime::Create(Config config, RuntimeDeps deps) {
  std::unique_ptr<Runtime> rt(new Runtime());
  rt->config_ = std::move(config);
  rt->clock_ = deps.clock ? deps.clock : Clock::Real();
  if (deps.metrics) {
    rt->metrics_ = deps.metrics;
  } else {
    rt->owned_metrics_ = std::make_unique<BackflowMetrics>();
    rt->metrics_ = rt->owned_metrics_.get();
  }
  rt->telemetry_ = std::make_unique<MetricsTelemetry>(rt->metrics_);
  rt->run_events_ = std::make_unique<RunEvents>(rt->metrics_, rt->telemetry_.get(), rt->clock_);
  if (deps.transport) {
    rt->transport_ = deps.transport;
  } else {
    rt->owned_transport_ = MakeCurlTransport();
    rt->transport_ = rt->owned_transport_.get();
  }
  if (deps.random) {
    rt->random_ = deps.random;
  } else {
    rt->owned_random_ = Random::Seeded(
        static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
    rt->random_ = rt->owned_random_.get();
  }
  for (const auto& [name, dest] : rt->config_.destinations) {
    const DestinationType* type = FindDestinationType(dest.type);
    if (type == nullptr)
      return Status::InvalidConfig("destinations." + name + ".type: unknown type " + dest.type);
    rt->destinations_[name] = type->Create(dest);
    rt->channels_[name] = std::make_unique<DestinationChannel>(
        rt->config_.destinations.at(name), rt->destinations_[name].get(), rt->transport_,
        rt->clock_, rt->random_, rt->telemetry_.get());
    // A bulk job survives a crash through the journal: the next run resumes it.
    if (rt->destinations_[name]->bulk() != nullptr) {
      rt->bulk_journals_.push_back(std::make_unique<PgBulkJobJournal>(
          rt->config_.warehouse.dsn, rt->config_.warehouse.state_schema));
      rt->channels_[name]->SetBulkJournal(rt->bulk_journals_.back().get());
    }
  }
  return rt;
}

Runtime::~Runtime() {
  channels_.clear();  // channels use destinations, the transport and the journal
  destinations_.clear();
}

const SyncConfig* Runtime::sync(const std::string& name) const {
  auto it = config_.syncs.find(name);
  return it == config_.syncs.end() ? nullptr : &it->second;
}

Destination* Runtime::destination(const std::string& name) const {
  auto it = destinations_.find(name);
  return it == destinations_.end() ? nullptr : it->second.get();
}

DestinationChannel* Runtime::channel(const std::string& name) const {
  auto it = channels_.find(name);
  return it == channels_.end() ? nullptr : it->second.get();
}

void Runtime::CancelDelivery() {
  for (auto& [name, ch] : channels_) ch->Cancel();
}

}  // namespace backflow
