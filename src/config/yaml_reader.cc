#include "config/yaml_reader.h"

#include <cmath>
#include <cstdlib>
#include <limits>

namespace backflow {

std::string ConfigError::ToString() const {
  std::string out;
  if (!file.empty()) out += file + ": ";
  out += path.empty() ? std::string("(top level)") : path;
  out += ": " + message;
  return out;
}

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

std::optional<Millis> ParseDuration(const std::string& text) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    ++i;
  if (i == 0 || i == text.size()) return std::nullopt;
  char* end = nullptr;
  std::string number = text.substr(0, i);
  double v = std::strtod(number.c_str(), &end);
  if (end != number.c_str() + number.size() || !std::isfinite(v) || v < 0) return std::nullopt;
  std::string unit = text.substr(i);
  double ms;
  if (unit == "ms") ms = v;
  else if (unit == "s") ms = v * 1e3;
  else if (unit == "m") ms = v * 60e3;
  else if (unit == "h") ms = v * 3600e3;
  else if (unit == "d") ms = v * 86400e3;
  else return std::nullopt;
  if (ms > 1e15) return std::nullopt;
  return Millis(static_cast<long long>(std::llround(ms)));
}

std::optional<double> ParsePercent(const std::string& text) {
  if (text.size() < 2 || text.back() != '%') return std::nullopt;
  std::string number = text.substr(0, text.size() - 1);
  char* end = nullptr;
  double v = std::strtod(number.c_str(), &end);
  if (end != number.c_str() + number.size() || !std::isfinite(v) || v < 0 || v > 100)
    return std::nullopt;
  return v / 100.0;
}

std::optional<std::string> ExpandEnv(const std::string& text, const EnvLookup& env,
                                     std::string* missing) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '$' && i + 1 < text.size() && text[i + 1] == '{') {
      size_t close = text.find('}', i + 2);
      if (close != std::string::npos) {
        std::string name = text.substr(i + 2, close - i - 2);
        auto value = env(name);
        if (!value) {
          if (missing) *missing = name;
          return std::nullopt;
        }
        out += *value;
        i = close;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

YamlReader::YamlReader(YAML::Node node, std::string path, ConfigErrors* errors, EnvLookup env,
                       std::string file)
    : node_(std::move(node)),
      path_(std::move(path)),
      errors_(errors),
      env_(std::move(env)),
      file_(std::move(file)),
      taken_(std::make_shared<std::set<std::string>>()) {}

std::string YamlReader::PathOf(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

bool YamlReader::Has(const std::string& key) const {
  return node_.IsMap() && node_[key].IsDefined() && !node_[key].IsNull();
}

std::vector<std::string> YamlReader::Keys() const {
  std::vector<std::string> keys;
  if (!node_.IsMap()) return keys;
  for (const auto& kv : node_) keys.push_back(kv.first.as<std::string>());
  return keys;
}

void YamlReader::Take(const std::string& key) { taken_->insert(key); }

void YamlReader::Error(const std::string& key, const std::string& message) {
  errors_->push_back({PathOf(key), message, file_});
}

void YamlReader::ErrorHere(const std::string& message) {
  errors_->push_back({path_, message, file_});
}

std::optional<std::string> YamlReader::Scalar(const std::string& key, bool required,
                                              const char* what) {
  Take(key);
  if (!Has(key)) {
    if (required) Error(key, std::string("is required (") + what + ")");
    return std::nullopt;
  }
  YAML::Node v = node_[key];
  if (!v.IsScalar()) {
    Error(key, std::string("expected ") + what);
    return std::nullopt;
  }
  std::string missing;
  auto expanded = ExpandEnv(v.Scalar(), env_, &missing);
  if (!expanded) {
    Error(key, "environment variable " + missing + " is not set");
    return std::nullopt;
  }
  return expanded;
}

std::optional<std::string> YamlReader::String(const std::string& key, bool required) {
  return Scalar(key, required, "a string");
}

std::optional<Secret> YamlReader::SecretString(const std::string& key, bool required) {
  auto s = Scalar(key, required, "a string");
  if (!s) return std::nullopt;
  return Secret(std::move(*s));
}

std::optional<long long> YamlReader::Int(const std::string& key, long long min, long long max,
                                         bool required) {
  auto s = Scalar(key, required, "a whole number");
  if (!s) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s->c_str(), &end, 10);
  if (s->empty() || end != s->c_str() + s->size() || errno == ERANGE) {
    Error(key, "expected a whole number, got '" + *s + "'");
    return std::nullopt;
  }
  if (v < min || v > max) {
    Error(key, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                   ", got " + *s);
    return std::nullopt;
  }
  return v;
}

std::optional<double> YamlReader::Number(const std::string& key, bool required) {
  auto s = Scalar(key, required, "a number");
  if (!s) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(s->c_str(), &end);
  if (s->empty() || end != s->c_str() + s->size() || !std::isfinite(v)) {
    Error(key, "expected a number, got '" + *s + "'");
    return std::nullopt;
  }
  return v;
}

std::optional<bool> YamlReader::Bool(const std::string& key, bool required) {
  auto s = Scalar(key, required, "true or false");
  if (!s) return std::nullopt;
  if (*s == "true" || *s == "yes" || *s == "on") return true;
  if (*s == "false" || *s == "no" || *s == "off") return false;
  Error(key, "expected true or false, got '" + *s + "'");
  return std::nullopt;
}

std::optional<Millis> YamlReader::Duration(const std::string& key, bool required) {
  auto s = Scalar(key, required, "a duration such as 500ms, 10s, 15m, 48h or 7d");
  if (!s) return std::nullopt;
  auto d = ParseDuration(*s);
  if (!d) Error(key, "expected a duration such as 500ms, 10s, 15m, 48h or 7d, got '" + *s + "'");
  return d;
}

std::optional<double> YamlReader::Percent(const std::string& key, bool required) {
  auto s = Scalar(key, required, "a percentage such as 1% or 0.5%");
  if (!s) return std::nullopt;
  auto p = ParsePercent(*s);
  if (!p) Error(key, "expected a percentage between 0% and 100% such as 1% or 0.5%, got '" + *s + "'");
  return p;
}

std::optional<std::string> YamlReader::OneOf(const std::string& key,
                                             const std::vector<std::string>& allowed,
                                             bool required) {
  auto s = Scalar(key, required, "one of the listed values");
  if (!s) return std::nullopt;
  for (const auto& a : allowed)
    if (*s == a) return s;
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : " | ") + a;
  Error(key, "must be one of " + list + ", got '" + *s + "'");
  return std::nullopt;
}

std::optional<std::vector<std::string>> YamlReader::StringList(const std::string& key,
                                                               bool required) {
  Take(key);
  if (!Has(key)) {
    if (required) Error(key, "is required (a list of strings)");
    return std::nullopt;
  }
  YAML::Node v = node_[key];
  if (!v.IsSequence()) {
    Error(key, "expected a list of strings");
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].IsScalar()) {
      Error(key + "[" + std::to_string(i) + "]", "expected a string");
      return std::nullopt;
    }
    out.push_back(v[i].Scalar());
  }
  return out;
}

std::optional<YamlReader> YamlReader::Map(const std::string& key, bool required) {
  Take(key);
  if (!Has(key)) {
    if (required) Error(key, "is required (a mapping)");
    return std::nullopt;
  }
  YAML::Node v = node_[key];
  if (!v.IsMap()) {
    Error(key, "expected a mapping of keys to values");
    return std::nullopt;
  }
  return YamlReader(v, PathOf(key), errors_, env_, file_);
}

std::optional<YAML::Node> YamlReader::Raw(const std::string& key, bool required) {
  Take(key);
  if (!Has(key)) {
    if (required) Error(key, "is required");
    return std::nullopt;
  }
  return node_[key];
}

YamlReader YamlReader::Child(YAML::Node node, const std::string& path_suffix) const {
  return YamlReader(std::move(node), path_ + path_suffix, errors_, env_, file_);
}

void YamlReader::Finish() {
  if (!node_.IsMap()) return;
  for (const auto& kv : node_) {
    std::string key = kv.first.as<std::string>();
    if (!taken_->count(key)) Error(key, "unknown key");
  }
}

}  // namespace backflow
