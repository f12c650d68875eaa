// Braze REST: user attribute updates via /users/track, deletes via /users/delete.
//
// A sync's primary key is the Braze external_id, so the destination id of a delivered
// record is its warehouse_id. `mode: update` is enforced by Braze itself
// (_update_existing_only), so UpdateNeedsDestinationId() is false.
#pragma once

#include <memory>

#include "destinations/braze/config.h"
#include "destinations/registry.h"

namespace backflow {

const DestinationType& BrazeDestinationType();

// The destination for already-validated settings (tests build it without a config file).
std::unique_ptr<Destination> NewBrazeDestination(BrazeSettings settings);

}  // namespace backflow
