// Turns a batch into one HubSpot CRM v3 batch write request.
//
// upsert: POST {base_url}/crm/v3/objects/{object}/batch/upsert
//   {"inputs":[{"id":<warehouse_id>,"idProperty":<match.id_property>,"properties":{..}}]}
// update: POST {base_url}/crm/v3/objects/{object}/batch/update
//   {"inputs":[{"id":<hs_object_id>,"properties":{..}}]}
// Every property value is a string on the wire; null clears the property ("").
#pragma once

#include <string>

#include "backflow/http.h"
#include "backflow/record.h"
#include "destinations/hubspot/config.h"

namespace backflow::hubspot {

// A value as HubSpot wants it: numbers as their text, booleans "true"/"false",
// timestamps ISO-8601, dates YYYY-MM-DD, null "".
std::string WireValue(const FieldValue& value);

// REQUIRES: batch.sync != nullptr, 0 < records <= kMaxBatchRecords; for upsert,
// sync->id_property is set; for update, every record has a destination_id (the engine
// skips the others; a missing one is sent as "" and HubSpot reports it not found).
HttpRequest BuildBatchWrite(const HubSpotSettings& settings, const RecordBatch& batch);

}  // namespace backflow::hubspot
