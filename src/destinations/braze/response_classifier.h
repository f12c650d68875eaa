// Reads Braze's answers into per-record outcomes and whole-request verdicts.
//
//   2xx {"message":"success"}        every record delivered (destination id = external_id),
//                                    except those an "errors" entry names by index:
//                                    permanent, or skipped when mode: update and the error
//                                    says the user does not exist
//   400 "Max Input Length Exceeded"  fatal: backflow built an oversized request (a bug)
//   400 naming indexes               those permanent, the rest retryable (nothing applied)
//   400 otherwise                    split the batch
//   401/403/404                      fatal: the REST API key was refused
//   429                              retry, rate limited (Braze sends no Retry-After; the
//                                    X-RateLimit-Reset header drives the limiter)
//   anything else                    ClassifyCommonFailure
// Stateless and thread-safe. Reasons never contain the key or attribute values.
#pragma once

#include <string>
#include <vector>

#include "backflow/destination.h"

namespace backflow {

// `host` names the endpoint in messages ("rest.iad-01.braze.com").
BatchResult ClassifyBrazeTrack(const RecordBatch& batch, const HttpResponse& response,
                               const std::string& host);
BatchResult ClassifyBrazeDelete(const std::vector<std::string>& external_ids,
                                const HttpResponse& response, const std::string& host);

// X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset (epoch seconds).
RateLimitHints ReadBrazeRateLimit(const HttpResponse& response);

// True when a non-fatal error type says the addressed user does not exist.
bool BrazeErrorMeansUnknownUser(const std::string& type);

// "rest.iad-01.braze.com" from "https://rest.iad-01.braze.com".
std::string HostOf(const std::string& url);

}  // namespace backflow
