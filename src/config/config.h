// Loading backflow.yaml (or a conf.d directory) into the validated Config.
//
// Every problem is collected with its YAML path (and file), so `backflow validate` can
// print them all; the returned Status carries the first. Secret values never appear in
// an error: errors about them name the path only. Thread-compatible (no shared state).
#pragma once

#include <string>

#include "backflow/config.h"
#include "backflow/status.h"
#include "config/yaml_reader.h"

namespace backflow {

// Reads `path`: a YAML file, or a directory whose *.yaml files are merged in name order.
// Files merge at the level of top-level sections and their named children
// (destinations.sfdc in one file and destinations.hubspot in another); a key defined in
// two files is an error naming both. A contract given as a string is a path to a YAML
// file, relative to the directory of the file that names it.
// On any error returns Status::InvalidConfig with the first error; when `errors` is not
// null it receives ALL of them (it is cleared first).
[[nodiscard]] Result<Config> LoadConfig(const std::string& path, const EnvLookup& env,
                                        ConfigErrors* errors);

// The same for YAML text (tests, stdin). Relative contract paths resolve against
// `base_dir` (the current directory when empty).
[[nodiscard]] Result<Config> ParseConfigText(const std::string& yaml, const EnvLookup& env,
                                             ConfigErrors* errors);
[[nodiscard]] Result<Config> ParseConfigText(const std::string& yaml, const EnvLookup& env,
                                             ConfigErrors* errors, const std::string& base_dir);

// ./backflow.yaml when it exists, else /etc/backflow/backflow.yaml when that exists,
// else ./backflow.yaml (so the "cannot read" error names the first place looked).
std::string DefaultConfigPath();

}  // namespace backflow
