#include "destinations/salesforce/destination.h"

#include "destinations/salesforce/request_builder.h"
#include "destinations/salesforce/response_classifier.h"

namespace backflow::salesforce {

SalesforceDestination::SalesforceDestination(std::shared_ptr<const SalesforceSettings> settings,
                                             Clock* clock)
    : settings_(std::move(settings)), session_(settings_, clock), bulk_(settings_, &session_) {}

size_t SalesforceDestination::MaxBatchRecords(const SyncConfig& /*sync*/) const {
  return kMaxBatchRecords;
}

std::optional<HttpRequest> SalesforceDestination::BuildAuthRequest() const {
  return session_.BuildRequest();
}

Status SalesforceDestination::AcceptAuthResponse(const HttpResponse& response) {
  return session_.Accept(response);
}

HttpRequest SalesforceDestination::BuildUpsert(const RecordBatch& batch) const {
  return BuildCollectionWrite(*settings_, session_.Current(), batch);
}

BatchResult SalesforceDestination::ClassifyUpsert(const RecordBatch& batch,
                                                  const HttpResponse& response) const {
  return ClassifyCollectionWrite(batch, response);
}

RateLimitHints SalesforceDestination::ReadRateLimit(const HttpResponse& response) const {
  return ReadLimitInfo(response);
}

}  // namespace backflow::salesforce
