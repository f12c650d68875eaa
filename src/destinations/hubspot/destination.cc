#include "destinations/hubspot/destination.h"

#include "destinations/hubspot/request_builder.h"
#include "destinations/hubspot/response_classifier.h"

namespace backflow::hubspot {

HubSpotDestination::HubSpotDestination(std::shared_ptr<const HubSpotSettings> settings)
    : settings_(std::move(settings)) {}

size_t HubSpotDestination::MaxBatchRecords(const SyncConfig& /*sync*/) const {
  return kMaxBatchRecords;
}

HttpRequest HubSpotDestination::BuildUpsert(const RecordBatch& batch) const {
  return BuildBatchWrite(*settings_, batch);
}

BatchResult HubSpotDestination::ClassifyUpsert(const RecordBatch& batch,
                                               const HttpResponse& response) const {
  return ClassifyBatchWrite(batch, response);
}

RateLimitHints HubSpotDestination::ReadRateLimit(const HttpResponse& response) const {
  return ReadRateLimitHeaders(response);
}

}  // namespace backflow::hubspot
