// Every emulator the backflow-sandbox binary serves. Adding a destination's emulator is
// one #include and one Add(...) line below.
#include "destinations/braze/emulator.h"
#include "destinations/hubspot/emulator.h"
#include "destinations/salesforce/emulator.h"
#include "sandbox/sandbox.h"

namespace backflow::sandbox {

void Sandbox::AddAll() {
  Add(std::make_unique<hubspot::HubSpotEmulator>());
  Add(std::make_unique<salesforce::SalesforceEmulator>());
  Add(std::make_unique<braze::BrazeEmulator>());
}

}  // namespace backflow::sandbox
