// SalesforceDestination: the Destination for one configured Salesforce org.
//
// Its only mutable state is the OAuth session (SessionHolder, behind a mutex), so every
// method is thread-safe. Delivery authenticates before the first write and after each
// kReauthenticate; the daily budget share and the Bulk API 2.0 protocol are exposed for
// delivery and the engine (DailyQuotaShare(), bulk()).
#pragma once

#include <memory>

#include "backflow/bulk.h"
#include "backflow/clock.h"
#include "backflow/destination.h"
#include "destinations/salesforce/auth.h"
#include "destinations/salesforce/bulk.h"
#include "destinations/salesforce/config.h"

namespace backflow::salesforce {

class SalesforceDestination final : public Destination {
 public:
  // REQUIRES: clock outlives the destination (it dates JWT assertions).
  SalesforceDestination(std::shared_ptr<const SalesforceSettings> settings, Clock* clock);

  size_t MaxBatchRecords(const SyncConfig& sync) const override;
  bool UpdateNeedsDestinationId() const override { return true; }
  std::optional<HttpRequest> BuildAuthRequest() const override;
  Status AcceptAuthResponse(const HttpResponse& response) override;
  HttpRequest BuildUpsert(const RecordBatch& batch) const override;
  BatchResult ClassifyUpsert(const RecordBatch& batch, const HttpResponse& response) const override;
  RateLimitHints ReadRateLimit(const HttpResponse& response) const override;
  double DailyQuotaShare() const override { return settings_->daily_quota_share; }
  const BulkProtocol* bulk() const override { return &bulk_; }

  const SalesforceSettings& settings() const { return *settings_; }
  Session CurrentSession() const { return session_.Current(); }

 private:
  std::shared_ptr<const SalesforceSettings> settings_;
  SessionHolder session_;
  SalesforceBulk bulk_;
};

}  // namespace backflow::salesforce
