// Builds Braze REST requests: /users/track attribute updates and /users/delete.
//
// Each record becomes one attributes object identified by "external_id": its
// warehouse_id, with the mapped fields typed the way Braze stores them (numbers, booleans,
// ISO-8601 times, JSON values; null unsets the attribute). Stateless and thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backflow/http.h"
#include "backflow/record.h"
#include "destinations/braze/config.h"

namespace backflow {

// The JSON value Braze should store for a warehouse value.
nlohmann::json BrazeAttributeValue(const FieldValue& value);

// POST {base_url}/users/track {"attributes":[...]}. In mode: update every object carries
// "_update_existing_only": true. REQUIRES: batch.sync set, batch.records.size() <=
// kBrazeMaxTrackObjects (a larger batch is sent as is and Braze refuses it as a whole,
// which ClassifyBrazeTrack reports as a bug).
HttpRequest BuildBrazeTrack(const BrazeSettings& settings, const RecordBatch& batch);

// POST {base_url}/users/delete {"external_ids":[...]}. REQUIRES: size <= kBrazeMaxDeleteIds.
HttpRequest BuildBrazeDelete(const BrazeSettings& settings,
                             const std::vector<std::string>& external_ids);

}  // namespace backflow
