// Reads HubSpot's answers to batch writes into per-record outcomes.
//
// 200/201 COMPLETE and 207 Multi-Status: results[] are matched to inputs by the id
// property's value (upsert) or by hs_object_id (update) — HubSpot does not keep request
// order. errors[] name their inputs in `context` (ids); those records are permanent
// failures. A record neither confirmed nor named is retryable (MISSING_FROM_RESPONSE).
// 400 refusing the whole batch -> kSplit; 401 -> kFatal (AuthRefused); 429 -> kRetry,
// or kPause for the DAILY policy; 5xx and transport errors -> ClassifyCommonFailure.
// Every field of an answer is optional: a malformed body never crashes.
#pragma once

#include "backflow/destination.h"
#include "backflow/http.h"
#include "backflow/record.h"

namespace backflow::hubspot {

// REQUIRES: batch.sync != nullptr.
BatchResult ClassifyBatchWrite(const RecordBatch& batch, const HttpResponse& response);

// X-HubSpot-RateLimit-Max / -Remaining / -Interval-Milliseconds / -Daily / -Daily-Remaining.
RateLimitHints ReadRateLimitHeaders(const HttpResponse& response);

}  // namespace backflow::hubspot
