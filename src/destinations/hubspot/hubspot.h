// HubSpot CRM v3 objects: batch upsert by a unique id property.
#pragma once

#include "destinations/registry.h"

namespace backflow {

const DestinationType& HubSpotDestinationType();

}  // namespace backflow
