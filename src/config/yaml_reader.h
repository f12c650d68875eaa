// YamlReader: reads one YAML mapping into typed values, collecting every error with its
// YAML path ("syncs.lead_scores.fields"), so `validate` can report all problems at once.
//
// Each Take-style call marks a key as known; Finish() reports every key nobody took as
// "unknown key". `${VAR}` in any string value is replaced from the environment; an unset
// variable is an error naming it. Not thread-safe; cheap to copy.
#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "backflow/clock.h"
#include "backflow/secret.h"

namespace backflow {

struct ConfigError {
  std::string path;     // "syncs.lead_scores.fields.Email"
  std::string message;  // "unknown key", "expected a duration such as 15m"
  std::string file;     // the file it came from, when known
  std::string ToString() const;
};
using ConfigErrors = std::vector<ConfigError>;

// Looks up environment variables; tests inject a map.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup ProcessEnv();

// Parses "500ms", "10s", "15m", "48h", "7d".
std::optional<Millis> ParseDuration(const std::string& text);
// Parses "1%", "0.5%", "100%" into 0.01, 0.005, 1.0 (0..1).
std::optional<double> ParsePercent(const std::string& text);
// Replaces ${VAR}; on an unset variable returns nullopt and sets *missing to its name.
std::optional<std::string> ExpandEnv(const std::string& text, const EnvLookup& env,
                                     std::string* missing);

class YamlReader {
 public:
  // REQUIRES: errors outlives the reader.
  YamlReader(YAML::Node node, std::string path, ConfigErrors* errors, EnvLookup env,
             std::string file = "");

  const std::string& path() const { return path_; }
  std::string PathOf(const std::string& key) const;
  bool IsMap() const { return node_.IsMap(); }
  bool Has(const std::string& key) const;
  // The mapping's keys in document order.
  std::vector<std::string> Keys() const;

  // Typed reads. A missing key returns nullopt (and is an error when `required`); a
  // value of the wrong type or range is an error naming the path and returns nullopt.
  std::optional<std::string> String(const std::string& key, bool required = false);
  std::optional<Secret> SecretString(const std::string& key, bool required = false);
  std::optional<long long> Int(const std::string& key, long long min, long long max,
                               bool required = false);
  std::optional<double> Number(const std::string& key, bool required = false);
  std::optional<bool> Bool(const std::string& key, bool required = false);
  std::optional<Millis> Duration(const std::string& key, bool required = false);
  std::optional<double> Percent(const std::string& key, bool required = false);
  std::optional<std::string> OneOf(const std::string& key, const std::vector<std::string>& allowed,
                                   bool required = false);
  std::optional<std::vector<std::string>> StringList(const std::string& key,
                                                     bool required = false);
  // A nested mapping (an error when present but not a mapping).
  std::optional<YamlReader> Map(const std::string& key, bool required = false);
  // The raw node, for shapes the reader does not know (sequences of maps, ...).
  std::optional<YAML::Node> Raw(const std::string& key, bool required = false);
  // A reader for a node that is not under a key of this one (a sequence element).
  YamlReader Child(YAML::Node node, const std::string& path_suffix) const;

  // Marks `key` as known without reading it.
  void Take(const std::string& key);
  void Error(const std::string& key, const std::string& message);
  void ErrorHere(const std::string& message);
  // Reports every key not taken as "unknown key". Call once, after all reads.
  void Finish();

  ConfigErrors* errors() const { return errors_; }
  const EnvLookup& env() const { return env_; }
  const std::string& file() const { return file_; }

 private:
  std::optional<std::string> Scalar(const std::string& key, bool required, const char* what);

  YAML::Node node_;
  std::string path_;
  ConfigErrors* errors_;
  EnvLookup env_;
  std::string file_;
  std::shared_ptr<std::set<std::string>> taken_;
};

}  // namespace backflow
