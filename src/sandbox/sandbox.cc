#include "sandbox/sandbox.h"

#include <sys/socket.h>

#include <chrono>
#include <ctime>
#include <memory>
#include <thread>

#include "backflow/http_listen.h"
#include "sandbox/state.h"

namespace backflow::sandbox {
namespace {

using nlohmann::json;

std::string IsoNow(WallTime t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03lldZ", buf, static_cast<long long>(ms % 1000));
  return out;
}

void Answer(httplib::Response& res, int status, const std::string& body) {
  res.status = status;
  res.set_content(body, "application/json");
}

// What a fault answers when the emulator has no better words.
std::string FaultBody(int status) {
  return json{{"status", "error"}, {"message", "sandbox fault: HTTP " + std::to_string(status)},
              {"category", "SANDBOX_FAULT"}}.dump();
}

// The client sees the headers, then the connection closes before the promised body:
// libcurl reports CURLE_PARTIAL_FILE, the way a reset mid-answer looks.
void Drop(httplib::Response& res) {
  res.body.clear();
  res.set_content_provider(
      1 << 16, "application/json",
      [](size_t /*offset*/, size_t /*length*/, httplib::DataSink& /*sink*/) { return false; });
}

}  // namespace

Sandbox::Sandbox(SandboxOptions options)
    : options_(std::move(options)), state_(std::make_unique<State>()) {
  state_->clock = options_.clock != nullptr ? options_.clock : Clock::Real();
  state_->seed = options_.seed;
}

Sandbox::~Sandbox() { Stop(); }

void Sandbox::Add(std::unique_ptr<Emulator> emulator) {
  if (options_.emulator_options.is_object() && options_.emulator_options.contains(emulator->name()))
    emulator->Configure(options_.emulator_options[emulator->name()]);
  emulators_.push_back(std::move(emulator));
}

Result<int> Sandbox::Start() {
  if (server_) return Status::Internal("sandbox already started");
  server_ = std::make_unique<httplib::Server>();
  const int threads = options_.threads > 0 ? options_.threads : 1;
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // Like the real APIs' front ends: keep-alive connections serve many requests, and
  // responses are not held back by Nagle's algorithm (httplib's defaults close a
  // connection after 5 requests and leave Nagle on, which costs a delayed-ACK wait).
  server_->set_tcp_nodelay(true);
  server_->set_keep_alive_max_count(kKeepAliveRequests);
  // Debian's cpp-httplib listens with a backlog of 5. A run opens its senders' connections
  // at once (up to max_concurrency); past the backlog the kernel drops their SYNs, which
  // the client resends a second later: a stall of a second at the start of every run.
  // The socket is kept here to listen on again with room.
  const std::shared_ptr<socket_t> listening = ReuseAddressOnly(*server_);
  for (auto& e : emulators_) e->Register(*server_, *this);
  RegisterAdmin();

  int port = options_.port;
  if (port == 0) {
    port = server_->bind_to_any_port(options_.host);
    if (port < 0) return Status::Unavailable("cannot bind " + options_.host);
  } else if (!server_->bind_to_port(options_.host, port)) {
    return Status::Unavailable("cannot bind " + options_.host + ":" + std::to_string(port));
  }
  if (*listening != INVALID_SOCKET && ::listen(*listening, SOMAXCONN) != 0) {
    Stop();
    return Status::Unavailable("cannot listen on " + options_.host + ":" + std::to_string(port));
  }
  port_ = port;
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // listen_after_bind marks the server running before it accepts; wait for that.
  for (int i = 0; i < 5000 && !server_->is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (!server_->is_running()) {
    Stop();
    return Status::Unavailable("sandbox server did not start");
  }
  return port_;
}

void Sandbox::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string Sandbox::base_url() const {
  return "http://" + options_.host + ":" + std::to_string(port_);
}

httplib::Server::Handler Sandbox::Wrap(const std::string& emulator, bool write,
                                       httplib::Server::Handler handler) {
  return [this, emulator, write, handler = std::move(handler)](const httplib::Request& req,
                                                               httplib::Response& res) {
    Clock* clock = state_->clock;
    const SteadyTime started = clock->Now();
    std::optional<ScriptedAnswer> scripted;
    std::string fault;
    bool apply = true, fail_after = false, drop = false;
    Millis latency{0};
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      State::PerEmulator& e = state_->For(emulator);
      latency = e.faults.latency;
      if (write) {
        FaultSpec& f = e.faults;
        if (!f.script.empty()) {
          scripted = f.script.front();
          f.script.pop_front();
          apply = scripted->apply_first;
          fault = "scripted";
        } else if (f.hidden_rate_limit) {
          const auto [limit, per] = *f.hidden_rate_limit;
          while (!e.window.empty() && e.window.front() <= started - per) e.window.pop_front();
          if (static_cast<long long>(e.window.size()) >= limit) {
            apply = false;
            fault = "rate_limited";
          } else {
            e.window.push_back(started);
          }
        }
        if (fault.empty()) {
          for (const auto& [status, p] : f.fail_status)
            if (p > 0 && e.random->Uniform() < p) {
              apply = false;
              fault = "fail_status";
              res.status = status;
              break;
            }
        }
        if (fault.empty() && f.apply_then_fail > 0 && e.random->Uniform() < f.apply_then_fail) {
          fail_after = true;
          fault = "apply_then_fail";
        }
        if (fault.empty() && f.drop > 0 && e.random->Uniform() < f.drop) {
          drop = true;
          fault = "drop";
        }
      }
    }

    if (fault == "rate_limited") {
      if (Emulator* em = Find(emulator)) em->WriteRateLimited(res);
      else Answer(res, 429, FaultBody(429));
    } else if (fault == "fail_status") {
      Answer(res, res.status, FaultBody(res.status));
    }
    if (apply) {
      try {
        handler(req, res);
      } catch (const std::exception& ex) {
        Answer(res, 500, json{{"status", "error"}, {"message", ex.what()}}.dump());
      }
    }
    if (scripted) {
      res.status = scripted->status;
      res.headers.clear();
      for (const auto& [k, v] : scripted->headers) res.set_header(k.c_str(), v);
      res.set_content(scripted->body, "application/json");
    } else if (fail_after) {
      res.headers.clear();
      Answer(res, 500, FaultBody(500));
    } else if (drop) {
      Drop(res);
    }
    if (latency.count() > 0) clock->SleepFor(latency);

    const int status = drop ? 0 : res.status;
    json entry = {{"emulator", emulator},
                  {"method", req.method},
                  {"path", req.path},
                  {"status", status},
                  {"request_bytes", req.body.size()},
                  {"write", write},
                  {"at", IsoNow(clock->WallNow())},
                  {"latency_us", std::chrono::duration_cast<std::chrono::microseconds>(
                                     clock->Now() - started).count()}};
    if (!fault.empty()) entry["fault"] = fault;
    std::lock_guard<std::mutex> lock(state_->mu);
    State::PerEmulator& e = state_->For(emulator);
    ++e.requests;
    if (write) ++e.writes;
    ++e.by_status[status];
    e.log.push_back(std::move(entry));
    if (e.log.size() > State::kMaxLogEntries) e.log.pop_front();
  };
}

void Sandbox::SetFaults(const std::string& emulator, FaultSpec spec) {
  std::lock_guard<std::mutex> lock(state_->mu);
  State::PerEmulator& e = state_->For(emulator);
  e.random = Random::Seeded(state_->seed ^ (spec.seed * 0x9E3779B97F4A7C15ULL));
  e.faults = std::move(spec);
  e.window.clear();
}

json Sandbox::RequestLog(const std::string& emulator) const {
  std::lock_guard<std::mutex> lock(state_->mu);
  json out = json::array();
  auto it = state_->emulators.find(emulator);
  if (it != state_->emulators.end())
    for (const json& entry : it->second.log) out.push_back(entry);
  return out;
}

long long Sandbox::WriteRequests(const std::string& emulator) const {
  std::lock_guard<std::mutex> lock(state_->mu);
  auto it = state_->emulators.find(emulator);
  return it == state_->emulators.end() ? 0 : it->second.writes;
}

long long Sandbox::Requests(const std::string& emulator, int status) const {
  std::lock_guard<std::mutex> lock(state_->mu);
  auto it = state_->emulators.find(emulator);
  if (it == state_->emulators.end()) return 0;
  if (status < 0) return it->second.requests;
  auto s = it->second.by_status.find(status);
  return s == it->second.by_status.end() ? 0 : s->second;
}

json Sandbox::Counters(const std::string& emulator) const {
  std::lock_guard<std::mutex> lock(state_->mu);
  json out = {{"requests", 0}, {"writes", 0}, {"status", json::object()}};
  auto it = state_->emulators.find(emulator);
  if (it == state_->emulators.end()) return out;
  out["requests"] = it->second.requests;
  out["writes"] = it->second.writes;
  for (const auto& [status, n] : it->second.by_status) out["status"][std::to_string(status)] = n;
  return out;
}

Emulator* Sandbox::Find(const std::string& name) const {
  for (const auto& e : emulators_)
    if (e->name() == name) return e.get();
  return nullptr;
}

void Sandbox::Reset() {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->emulators.clear();
  }
  for (auto& e : emulators_) e->Reset();
}

}  // namespace backflow::sandbox
