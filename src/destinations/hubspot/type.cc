// The HubSpot entry of the destination registry.
#include "destinations/hubspot/config.h"
#include "destinations/hubspot/destination.h"
#include "destinations/hubspot/hubspot.h"

namespace backflow {
namespace {

class HubSpotType final : public DestinationType {
 public:
  const char* type() const override { return "hubspot"; }
  RateLimitConfig DefaultRateLimit() const override {
    RateLimitConfig limit;
    limit.requests = hubspot::kRateLimitRequests;
    limit.per = hubspot::kRateLimitWindow;
    return limit;
  }
  size_t MaxBatchRecords() const override { return hubspot::kMaxBatchRecords; }
  std::shared_ptr<const DestinationSettings> ParseSettings(YamlReader& reader) const override {
    return hubspot::ParseSettings(reader);
  }
  void ValidateSync(const DestinationConfig& /*destination*/, const SyncConfig& sync,
                    const std::string& sync_path, ConfigErrors* errors) const override {
    hubspot::ValidateSync(sync, sync_path, errors);
  }
  std::unique_ptr<Destination> Create(const DestinationConfig& config) const override {
    auto settings = std::dynamic_pointer_cast<const HubSpotSettings>(config.settings);
    if (!settings) settings = std::make_shared<HubSpotSettings>();
    return std::make_unique<hubspot::HubSpotDestination>(std::move(settings));
  }
};

}  // namespace

const DestinationType& HubSpotDestinationType() {
  static const HubSpotType kType;
  return kType;
}

}  // namespace backflow
