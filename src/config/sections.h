// Internal to config/: the parsers of each section of backflow.yaml.
//
// Each reads one YAML mapping through a YamlReader (which records errors with paths),
// fills the validated struct, and reports unknown keys. They never stop at the first
// error, so one pass reports everything.
#pragma once

#include <set>
#include <string>

#include "backflow/config.h"
#include "config/yaml_reader.h"

namespace backflow::config_internal {

WarehouseConfig ParseWarehouse(YamlReader& reader);
ObservabilityConfig ParseObservability(YamlReader& reader);

// nullopt when the destination cannot be used at all (no or unknown type).
std::optional<DestinationConfig> ParseDestination(const std::string& name, YamlReader& reader);

// `destinations` holds every destination that parsed; `declared` every name under
// destinations: (so a sync naming a broken one does not add a second error).
// `base_dir` resolves a contract given as a file path. Files read are appended to
// *contract_files.
std::optional<SyncConfig> ParseSync(const std::string& name, YamlReader& reader,
                                    const std::map<std::string, DestinationConfig>& destinations,
                                    const std::set<std::string>& declared,
                                    const std::string& base_dir,
                                    std::vector<std::string>* contract_files);

// A contract mapping (inline, or the root of a contract file).
ContractConfig ParseContract(YamlReader& reader);

// Loads a YAML file; on failure records an error (with the line of a syntax error) at
// `path` and returns nullopt.
std::optional<YAML::Node> LoadYamlFile(const std::string& file, const std::string& path,
                                       ConfigErrors* errors);

// A plain SQL identifier: [A-Za-z_][A-Za-z0-9_]*, at most 63 characters.
bool IsPlainIdentifier(const std::string& s);

}  // namespace backflow::config_internal
