// Structured logs for operators tailing journalctl: one JSON object a line
// ({"ts","level","msg", ...fields}) or, with log_format: text, "ts level msg k=v ...".
//
// Messages are sentences that end with a period. Fields carry run_id, sync, destination
// and counts. Never pass a secret or a PII value. `error` means data is at risk or a
// person must act. Thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "backflow/config.h"

namespace backflow::log {

enum class Level { kTrace, kDebug, kInfo, kWarn, kError };

// Sets format and level; until called, logs go to stderr as JSON at info.
void Init(const ObservabilityConfig& config);
// Redirects output (tests); nullptr restores stderr.
void SetSinkForTesting(std::string* capture);
bool Enabled(Level level);
void Write(Level level, std::string_view msg, const nlohmann::json& fields = nlohmann::json::object());

inline void Debug(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) {
  Write(Level::kDebug, m, f);
}
inline void Info(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) {
  Write(Level::kInfo, m, f);
}
inline void Warn(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) {
  Write(Level::kWarn, m, f);
}
inline void Error(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) {
  Write(Level::kError, m, f);
}

}  // namespace backflow::log
