// The validated configuration: what backflow.yaml (or a conf.d directory) means.
//
// Parsed once by config/ (LoadConfig); every value here has been checked, defaults
// live in the structs, and limits an API imposes have been applied. Destination-specific
// keys are parsed by the destination's own config.cc into a DestinationSettings subclass.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backflow/clock.h"
#include "backflow/secret.h"

namespace backflow {

struct WarehouseConfig {
  Secret dsn;                          // libpq URI or key=value (may contain a password)
  std::string state_schema = "backflow";
};

struct ObservabilityConfig {
  std::string log_format = "json";     // json | text
  std::string log_level = "info";      // trace | debug | info | warn | error
  std::optional<std::string> http_listen;  // "127.0.0.1:9464"; unset: no HTTP endpoint
};

// At most `requests` in any rolling window of `per`; `burst` caps how many leave at once.
struct RateLimitConfig {
  long long requests = 0;
  Millis per{1000};
  std::optional<long long> burst;
};

struct RetryConfig {
  int max_attempts = 8;
  Millis initial_backoff{1000};
  Millis max_backoff{10 * 60 * 1000};
};

// Base of the per-type settings (SalesforceSettings, HubSpotSettings, BrazeSettings).
struct DestinationSettings {
  virtual ~DestinationSettings() = default;
};

struct DestinationConfig {
  std::string name;                    // the key under destinations:
  std::string type;                    // salesforce | hubspot | braze
  RateLimitConfig rate_limit;          // the type's default when not configured
  int max_concurrency = 4;
  size_t batch_size = 0;               // already clamped to the API's maximum
  Millis timeout{30000};
  RetryConfig retry;
  std::shared_ptr<const DestinationSettings> settings;  // never null after LoadConfig

  template <typename T>
  const T& As() const { return static_cast<const T&>(*settings); }
};

// --- contracts (spec section 5) ---
enum class FieldType { kString, kInteger, kNumber, kBoolean, kTimestamp, kDate, kEmail, kEnum };

struct FieldRule {
  std::optional<FieldType> type;
  bool required = false;
  std::optional<double> min;
  std::optional<double> max;
  std::optional<size_t> max_length;  // in characters (UTF-8 code points)
  std::optional<std::string> pattern;  // ECMAScript regex, whole value
  std::vector<std::string> values;     // enum
  bool pii = false;
};

struct ContractCheck {
  std::string name;
  std::string sql;                     // must return no rows
};

struct ContractConfig {
  std::map<std::string, FieldRule> fields;  // by destination field
  double max_invalid = 0.0;            // share of the run's rows, 0..1
  std::vector<ContractCheck> checks;
  std::optional<std::string> dbt_run_results;
  std::optional<std::string> dbt_model;
  std::string source_file;             // set when the contract came from its own file
};

struct FieldMapping {
  std::string destination_field;
  std::string column;
};

enum class ChangeStrategy { kHash, kUpdatedAt };
enum class SyncMode { kUpsert, kUpdate };
enum class OnDelete { kIgnore, kDelete };

struct Schedule {
  std::optional<Millis> every;
  std::optional<std::string> cron;     // five fields, validated
};

struct SyncConfig {
  std::string name;
  std::string moment;
  std::string destination;             // a key of Config::destinations
  std::string object;                  // Lead | contacts | users
  std::optional<std::string> model_sql;
  std::optional<std::string> model_table;  // exactly one of sql/table is set
  std::string primary_key;
  std::optional<std::string> external_id_field;  // salesforce
  std::optional<std::string> id_property;        // hubspot
  std::vector<FieldMapping> fields;    // in YAML order
  ChangeStrategy strategy = ChangeStrategy::kHash;
  std::optional<std::string> updated_at_column;
  Millis lookback{48LL * 3600 * 1000};
  SyncMode mode = SyncMode::kUpsert;
  Schedule schedule;
  std::optional<ContractConfig> contract;
  double max_change_share = 0.5;
  OnDelete on_delete = OnDelete::kIgnore;
  double max_delete_share = 0.1;
  std::optional<double> sample;        // 0..1, a standing canary
  std::optional<std::string> consent_column;

  // The model as a FROM-able SQL expression: "(<sql>)" or the table name.
  std::string ModelRelation() const;
};

struct Config {
  WarehouseConfig warehouse;
  ObservabilityConfig observability;
  std::map<std::string, DestinationConfig> destinations;
  std::map<std::string, SyncConfig> syncs;
  std::vector<std::string> source_files;  // the files it was read from, in order
};

}  // namespace backflow
