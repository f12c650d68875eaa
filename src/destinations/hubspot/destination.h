// HubSpotDestination: the Destination for one configured HubSpot account.
//
// Stateless apart from its settings (a private app token needs no session), so every
// method is thread-safe.
#pragma once

#include <memory>

#include "backflow/destination.h"
#include "destinations/hubspot/config.h"

namespace backflow::hubspot {

class HubSpotDestination final : public Destination {
 public:
  explicit HubSpotDestination(std::shared_ptr<const HubSpotSettings> settings);

  size_t MaxBatchRecords(const SyncConfig& sync) const override;
  bool UpdateNeedsDestinationId() const override { return true; }
  HttpRequest BuildUpsert(const RecordBatch& batch) const override;
  BatchResult ClassifyUpsert(const RecordBatch& batch, const HttpResponse& response) const override;
  RateLimitHints ReadRateLimit(const HttpResponse& response) const override;

 private:
  std::shared_ptr<const HubSpotSettings> settings_;
};

}  // namespace backflow::hubspot
