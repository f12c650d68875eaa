// The backflow commands (spec section 1). Each returns the process exit code and prints
// for a person on stdout/stderr; logs go to stderr as structured lines.
#pragma once

#include <optional>
#include <string>

namespace backflow {

struct GlobalOptions {
  std::string config_path;  // file or conf.d directory
};

int CommandRun(const GlobalOptions& g);
int CommandSync(const GlobalOptions& g, const std::string& sync, bool full,
                const std::optional<std::string>& sample, bool force);
int CommandPlan(const GlobalOptions& g, const std::string& sync,
                const std::optional<std::string>& sample, const std::string& output);
int CommandValidate(const GlobalOptions& g);
int CommandStatus(const GlobalOptions& g, bool json);
int CommandRetry(const GlobalOptions& g, const std::string& sync);
int CommandMigrate(const GlobalOptions& g);

}  // namespace backflow
