// Salesforce REST (sObject Collections) and Bulk API 2.0: upsert by an external ID field.
#pragma once

#include "destinations/registry.h"

namespace backflow {

const DestinationType& SalesforceDestinationType();

}  // namespace backflow
