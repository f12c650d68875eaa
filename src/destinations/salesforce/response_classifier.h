// Reads Salesforce's answers to sObject Collections writes into per-record outcomes.
//
// 200: one result per record, in request order. success -> kDelivered (id, created);
//   failure -> errors[0].statusCode: UNABLE_TO_LOCK_ROW, SERVER_UNAVAILABLE and the like
//   are kRetryable, everything else (INVALID_FIELD, STRING_TOO_LONG, REQUIRED_FIELD_MISSING,
//   DUPLICATE_VALUE, ...) kPermanent. The reason names the code and the fields, never a
//   value (Salesforce echoes values in some messages; those are cut).
// 400 (array of {message, errorCode}): the request itself is malformed -> kSplit.
// 401 INVALID_SESSION_ID -> kReauthenticate. 403 REQUEST_LIMIT_EXCEEDED -> kPause.
// Everything else -> ClassifyCommonFailure. A malformed body never crashes.
#pragma once

#include <string>

#include "backflow/destination.h"
#include "backflow/http.h"
#include "backflow/record.h"

namespace backflow::salesforce {

// REQUIRES: batch.sync != nullptr.
BatchResult ClassifyCollectionWrite(const RecordBatch& batch, const HttpResponse& response);

// Whole-request answers shared by the REST and Bulk APIs: 401 INVALID_SESSION_ID,
// 403 REQUEST_LIMIT_EXCEEDED, 400 arrays, else ClassifyCommonFailure. REQUIRES: not 2xx.
BatchResult ClassifyRequestFailure(const HttpResponse& response);

// True for statusCodes that may succeed when sent again.
bool IsRetryableStatusCode(const std::string& status_code);

// "Sforce-Limit-Info: api-usage=N/M" -> daily_used = N, daily_limit = M.
RateLimitHints ReadLimitInfo(const HttpResponse& response);

}  // namespace backflow::salesforce
