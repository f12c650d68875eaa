// The Salesforce entry of the destination registry.
#include "destinations/salesforce/config.h"
#include "destinations/salesforce/destination.h"
#include "destinations/salesforce/salesforce.h"

namespace backflow {
namespace {

class SalesforceType final : public DestinationType {
 public:
  const char* type() const override { return "salesforce"; }
  RateLimitConfig DefaultRateLimit() const override {
    RateLimitConfig limit;
    limit.requests = salesforce::kRateLimitRequests;
    limit.per = salesforce::kRateLimitWindow;
    return limit;
  }
  size_t MaxBatchRecords() const override { return salesforce::kMaxBatchRecords; }
  std::shared_ptr<const DestinationSettings> ParseSettings(YamlReader& reader) const override {
    return salesforce::ParseSettings(reader);
  }
  void ValidateSync(const DestinationConfig& /*destination*/, const SyncConfig& sync,
                    const std::string& sync_path, ConfigErrors* errors) const override {
    salesforce::ValidateSync(sync, sync_path, errors);
  }
  std::unique_ptr<Destination> Create(const DestinationConfig& config) const override {
    auto settings = std::dynamic_pointer_cast<const SalesforceSettings>(config.settings);
    if (!settings) settings = std::make_shared<SalesforceSettings>();
    return std::make_unique<salesforce::SalesforceDestination>(std::move(settings),
                                                               Clock::Real());
  }
};

}  // namespace

const DestinationType& SalesforceDestinationType() {
  static const SalesforceType kType;
  return kType;
}

}  // namespace backflow
