#include "destinations/braze/emulator.h"

#include <algorithm>
#include <stdexcept>

namespace backflow::braze {
namespace {

using nlohmann::json;

// As Braze labels its answers. (With a bare "application/json" httplib would compress every
// answer for a client that accepts brotli: a fifth of the sandbox's CPU in a benchmark.)
void Send(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json; charset=utf-8");
}

long long EpochSecondsCeil(WallTime t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  return (ms + 999) / 1000;
}

}  // namespace

BrazeEmulator::BrazeEmulator(Clock* clock) : clock_(clock != nullptr ? clock : Clock::Real()) {
  // Braze limits /users/delete to 20,000 per minute; the emulator only reports it.
  delete_window_.requests = 20000;
  delete_window_.per = Millis(60000);
}

void BrazeEmulator::Configure(const json& options) {
  if (!options.is_object()) throw std::invalid_argument("braze options must be a JSON object");
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [key, value] : options.items()) {
    if (key == "api_key") {
      if (!value.is_string() || value.get<std::string>().empty())
        throw std::invalid_argument("braze.api_key must be a non-empty string");
      api_key_ = value.get<std::string>();
    } else if (key == "legacy_limits") {
      if (!value.is_boolean()) throw std::invalid_argument("braze.legacy_limits must be a boolean");
      legacy_limits_ = value.get<bool>();
    } else if (key == "rate_limit") {
      if (value.is_null()) {
        track_window_.enforced = false;
        continue;
      }
      if (!value.is_object() || !value.contains("requests") || !value.contains("per_ms") ||
          !value["requests"].is_number_integer() || !value["per_ms"].is_number_integer() ||
          value["requests"].get<long long>() < 0 || value["per_ms"].get<long long>() <= 0)
        throw std::invalid_argument(
            "braze.rate_limit must be {\"requests\": N >= 0, \"per_ms\": N > 0}");
      track_window_.requests = value["requests"].get<long long>();
      track_window_.per = Millis(value["per_ms"].get<long long>());
      track_window_.enforced = true;
    } else {
      throw std::invalid_argument("unknown key braze." + key);
    }
  }
}

void BrazeEmulator::Register(httplib::Server& server, sandbox::Sandbox& sandbox) {
  server.Post("/users/track",
              sandbox.Wrap(name(), /*write=*/true,
                           [this](const httplib::Request& req, httplib::Response& res) {
                             Serve(track_window_, req, res, &BrazeEmulator::Track);
                           }));
  server.Post("/users/delete",
              sandbox.Wrap(name(), /*write=*/true,
                           [this](const httplib::Request& req, httplib::Response& res) {
                             Serve(delete_window_, req, res, &BrazeEmulator::Delete);
                           }));
}

void BrazeEmulator::Prune(Window& w) const {
  const SteadyTime cutoff = clock_->Now() - w.per;
  while (!w.sent.empty() && w.sent.front() <= cutoff) w.sent.pop_front();
}

void BrazeEmulator::SetLimitHeaders(const Window& w, httplib::Response& res) const {
  const SteadyTime now = clock_->Now();
  const SteadyTime ends = w.sent.empty() ? now + w.per : w.sent.front() + w.per;
  const WallTime reset =
      clock_->WallNow() + std::chrono::duration_cast<WallTime::duration>(ends - now);
  const long long used = static_cast<long long>(w.sent.size());
  res.set_header("X-RateLimit-Limit", std::to_string(w.requests));
  res.set_header("X-RateLimit-Remaining", std::to_string(std::max(0LL, w.requests - used)));
  res.set_header("X-RateLimit-Reset", std::to_string(EpochSecondsCeil(reset)));
}

void BrazeEmulator::Serve(Window& w, const httplib::Request& req, httplib::Response& res,
                          Answer (BrazeEmulator::*answer)(const json&)) {
  std::lock_guard<std::mutex> lock(mu_);
  Prune(w);
  if (req.get_header_value("Authorization") != "Bearer " + api_key_) {
    SetLimitHeaders(w, res);
    Send(res, 401, {{"message", "Invalid API Key"}});
    return;
  }
  if (w.enforced && static_cast<long long>(w.sent.size()) >= w.requests) {
    SetLimitHeaders(w, res);
    // Braze sends no Retry-After: X-RateLimit-Reset says when to come back.
    Send(res, 429, {{"message", "API rate limit exceeded"}});
    return;
  }
  w.sent.push_back(clock_->Now());
  SetLimitHeaders(w, res);
  const json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    Send(res, 400, {{"message", "Invalid JSON in request body"}});
    return;
  }
  Answer a = (this->*answer)(body);
  Send(res, a.status, a.body);
}

void BrazeEmulator::WriteRateLimited(httplib::Response& res) const {
  std::lock_guard<std::mutex> lock(mu_);
  const WallTime reset = clock_->WallNow() + track_window_.per;
  res.set_header("X-RateLimit-Limit", std::to_string(track_window_.requests));
  res.set_header("X-RateLimit-Remaining", "0");
  res.set_header("X-RateLimit-Reset", std::to_string(EpochSecondsCeil(reset)));
  Send(res, 429, {{"message", "API rate limit exceeded"}});
}

json BrazeEmulator::Records() const {
  std::lock_guard<std::mutex> lock(mu_);
  json out = json::object();
  for (const auto& [key, attributes] : users_) out[key] = attributes;
  return out;
}

void BrazeEmulator::Reset() {
  std::lock_guard<std::mutex> lock(mu_);
  users_.clear();
  track_window_.sent.clear();
  delete_window_.sent.clear();
}

}  // namespace backflow::braze
