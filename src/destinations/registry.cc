#include "destinations/registry.h"

#include "destinations/braze/braze.h"
#include "destinations/hubspot/hubspot.h"
#include "destinations/salesforce/salesforce.h"

namespace backflow {

std::vector<const DestinationType*> DestinationTypes() {
  // One line per destination type.
  return {
      &HubSpotDestinationType(),
      &SalesforceDestinationType(),
      &BrazeDestinationType(),
  };
}

const DestinationType* FindDestinationType(std::string_view type) {
  for (const DestinationType* t : DestinationTypes())
    if (type == t->type()) return t;
  return nullptr;
}

}  // namespace backflow
