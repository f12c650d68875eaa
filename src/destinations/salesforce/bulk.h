// Salesforce Bulk API 2.0 ingest jobs as a BulkProtocol (see backflow/bulk.h for the loop).
//
//   create  POST  {data}/jobs/ingest {"object","operation":"upsert"|"update",
//                 "externalIdFieldName","contentType":"CSV","lineEnding":"LF"}
//   upload  PUT   {data}/jobs/ingest/{id}/batches   text/csv -> 201
//   close   PATCH {data}/jobs/ingest/{id} {"state":"UploadComplete"}  (abort: "Aborted")
//   poll    GET   {data}/jobs/ingest/{id}
//   results GET   {data}/jobs/ingest/{id}/successfulResults/ | failedResults/
// where {data} is {instance_url}/services/data/{api_version}.
//
// One job per part: whether a job takes more than one upload is not settled in the
// documentation, and a part never exceeds the 100 MB an upload may carry. Columns: the
// external ID field (or Id, for mode: update) then the mapped fields; null is "#N/A" (an
// empty cell would leave the field unchanged). Results are matched to records by that
// key column, since Salesforce does not keep their order.
#pragma once

#include <memory>

#include "backflow/bulk.h"
#include "destinations/salesforce/auth.h"
#include "destinations/salesforce/config.h"

namespace backflow::salesforce {

// Raw bytes per upload: Salesforce's 150 MB base64 cap, i.e. 100 MB of CSV.
inline constexpr size_t kMaxUploadBytes = 100u * 1024 * 1024;

// A value as a CSV cell: "#N/A" for null, booleans "true"/"false", timestamps ISO-8601.
std::string CsvValue(const FieldValue& value);

class SalesforceBulk final : public BulkProtocol {
 public:
  // REQUIRES: `session` outlives this object.
  SalesforceBulk(std::shared_ptr<const SalesforceSettings> settings, const SessionHolder* session,
                 size_t max_upload_bytes = kMaxUploadBytes);

  size_t Threshold() const override { return settings_->bulk_threshold; }
  bool NeedsReauthentication(const HttpResponse& response) const override;
  std::vector<BulkPart> EncodeParts(const RecordBatch& batch) const override;
  HttpRequest BuildCreateJob(const SyncConfig& sync) const override;
  Result<BulkJob> ParseJob(const HttpResponse& response) const override;
  HttpRequest BuildUpload(const BulkJob& job, const BulkPart& part) const override;
  Status AcceptUpload(const HttpResponse& response) const override;
  HttpRequest BuildClose(const BulkJob& job) const override;
  HttpRequest BuildAbort(const BulkJob& job) const override;
  HttpRequest BuildPoll(const BulkJob& job) const override;
  HttpRequest BuildResults(const BulkJob& job, BulkResultSet which) const override;
  Result<std::vector<RecordOutcome>> ParseResults(const BulkPart& part,
                                                  const HttpResponse& successful,
                                                  const HttpResponse& failed) const override;

 private:
  std::string JobUrl(const std::string& job_id) const;
  HttpRequest SetState(const BulkJob& job, const char* state) const;

  std::shared_ptr<const SalesforceSettings> settings_;
  const SessionHolder* session_;
  size_t max_upload_bytes_;
};

}  // namespace backflow::salesforce
