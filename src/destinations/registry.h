// The destination registry: every destination type backflow knows, by its `type:` name.
//
// Adding a destination means adding a folder under src/destinations/ with a
// DestinationType and one line in registry.cc (see README "Adding a destination").
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "backflow/config.h"
#include "backflow/destination.h"
#include "config/yaml_reader.h"

namespace backflow {

class DestinationType {
 public:
  virtual ~DestinationType() = default;
  virtual const char* type() const = 0;  // "hubspot"

  // Defaults for the common keys (rate_limit, max_concurrency, batch_size).
  virtual RateLimitConfig DefaultRateLimit() const = 0;
  virtual int DefaultMaxConcurrency() const { return 4; }
  // The API's own maximum records per write request; batch_size is clamped to it.
  virtual size_t MaxBatchRecords() const = 0;

  // Reads the type-specific keys of destinations.<name>; the common keys are already
  // taken. Errors go to reader.errors(); return a settings object even then.
  virtual std::shared_ptr<const DestinationSettings> ParseSettings(YamlReader& reader) const = 0;

  // Checks what a sync needs from this type (match.external_id_field for Salesforce, ...)
  // and may apply type-specific limits; errors name paths under `sync_path`.
  virtual void ValidateSync(const DestinationConfig& /*destination*/, const SyncConfig& /*sync*/,
                            const std::string& /*sync_path*/, ConfigErrors* /*errors*/) const {}

  // REQUIRES: config.type == type() and config.settings came from ParseSettings.
  virtual std::unique_ptr<Destination> Create(const DestinationConfig& config) const = 0;
};

// nullptr when no type has that name.
const DestinationType* FindDestinationType(std::string_view type);
std::vector<const DestinationType*> DestinationTypes();

}  // namespace backflow
