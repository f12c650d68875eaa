#include "observability/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace backflow::log {
namespace {

struct State {
  std::mutex mu;
  bool json = true;
  Level level = Level::kInfo;
  std::string* capture = nullptr;
  std::shared_ptr<spdlog::logger> logger;
};

State& S() {
  static State* s = [] {
    auto* st = new State;
    st->logger = spdlog::stderr_logger_mt("backflow");
    st->logger->set_pattern("%v");  // we format the whole line ourselves
    st->logger->set_level(spdlog::level::trace);
    return st;
  }();
  return *s;
}

const char* LevelName(Level l) {
  switch (l) {
    case Level::kTrace: return "trace";
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "info";
}

Level ParseLevel(const std::string& s) {
  if (s == "trace") return Level::kTrace;
  if (s == "debug") return Level::kDebug;
  if (s == "warn" || s == "warning") return Level::kWarn;
  if (s == "error") return Level::kError;
  return Level::kInfo;
}

std::string Timestamp() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms.count()));
  return buf;
}

}  // namespace

void Init(const ObservabilityConfig& config) {
  State& s = S();
  std::lock_guard<std::mutex> lock(s.mu);
  s.json = config.log_format != "text";
  s.level = ParseLevel(config.log_level);
}

void SetSinkForTesting(std::string* capture) {
  State& s = S();
  std::lock_guard<std::mutex> lock(s.mu);
  s.capture = capture;
}

bool Enabled(Level level) { return level >= S().level; }

void Write(Level level, std::string_view msg, const nlohmann::json& fields) {
  State& s = S();
  if (level < s.level) return;
  std::string line;
  if (s.json) {
    nlohmann::ordered_json j;
    j["ts"] = Timestamp();
    j["level"] = LevelName(level);
    j["msg"] = msg;
    if (fields.is_object())
      for (auto it = fields.begin(); it != fields.end(); ++it) j[it.key()] = it.value();
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    line = Timestamp() + " " + LevelName(level) + " " + std::string(msg);
    if (fields.is_object())
      for (auto it = fields.begin(); it != fields.end(); ++it)
        line += " " + it.key() + "=" +
                (it.value().is_string() ? it.value().get<std::string>() : it.value().dump());
  }
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.capture) {
    *s.capture += line + "\n";
    return;
  }
  s.logger->info(line);
}

}  // namespace backflow::log
