// Turns a batch into one sObject Collections write request.
//
// upsert: PATCH {instance_url}/services/data/{v}/composite/sobjects/{object}/{external_id_field}
//   {"allOrNone":false,"records":[{"attributes":{"type":object},
//                                  external_id_field: warehouse_id, <mapped fields>}]}
// update: PATCH {instance_url}/services/data/{v}/composite/sobjects
//   {"allOrNone":false,"records":[{"attributes":{"type":object},"Id":destination_id, ..}]}
// Every record carries attributes.type; an upsert never carries "Id". allOrNone is false so
// one bad record never holds back the others.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "backflow/http.h"
#include "backflow/record.h"
#include "destinations/salesforce/auth.h"
#include "destinations/salesforce/config.h"

namespace backflow::salesforce {

// A value as the REST API wants it: integers and numbers as JSON numbers (NaN/Infinity,
// which JSON cannot carry, as null), booleans, null, timestamps ISO-8601, dates and JSON
// documents as strings.
nlohmann::json JsonValue(const FieldValue& value);

// "{instance_url}/services/data/{api_version}".
std::string DataUrl(const SalesforceSettings& settings, const Session& session);

// Authorization, Content-Type and Accept for a data call.
HttpHeaders DataHeaders(const Session& session, const char* content_type = "application/json");

// REQUIRES: batch.sync != nullptr, 0 < records <= kMaxBatchRecords; for upsert,
// sync->external_id_field is set; for update, every record has a destination_id (the
// engine skips the others).
HttpRequest BuildCollectionWrite(const SalesforceSettings& settings, const Session& session,
                                 const RecordBatch& batch);

}  // namespace backflow::salesforce
