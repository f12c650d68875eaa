// backflow-sandbox: local emulators of the destination APIs, strict to destinations.md.
//
// One HTTP server (cpp-httplib) serves every emulator on one port; their paths do not
// collide (/crm/v3/... HubSpot, /services/... Salesforce, /users/... Braze). Tests run a
// Sandbox in-process on an ephemeral port; the backflow-sandbox binary runs the same
// thing standalone. An admin API under /_admin/ lets tests and the demo read stored
// records, the request log and counters, and set fault knobs:
//
//   GET  /_admin/{emulator}/records      stored records (JSON)
//   GET  /_admin/{emulator}/requests     the request log (method, path, status, body size)
//   GET  /_admin/{emulator}/counters     {"requests":N,"writes":N,"status":{"200":N,...}}
//   POST /_admin/{emulator}/faults       a FaultSpec as JSON (replaces the current one)
//   POST /_admin/reset                   forgets records, logs, counters and faults
//
// Faults are drawn from a seeded generator, so a test run is repeatable.
#pragma once

#include <httplib.h>

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "backflow/clock.h"
#include "backflow/status.h"

namespace backflow::sandbox {

using Millis = std::chrono::milliseconds;

struct ScriptedAnswer {
  int status = 500;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool apply_first = false;  // run the real handler (apply), then answer this instead
};

struct FaultSpec {
  std::map<int, double> fail_status;  // status -> probability per write request, answered
                                      // before anything is applied (e.g. {503: 0.2})
  double apply_then_fail = 0;         // probability: apply, then answer 500
  double drop = 0;                    // probability: apply, then drop the connection
  Millis latency{0};                  // added to every answer
  // A real rate limit lower than the one backflow is configured with: at most
  // `requests` per rolling `per`; past it the emulator answers its API's 429.
  std::optional<std::pair<long long, Millis>> hidden_rate_limit;
  std::deque<ScriptedAnswer> script;  // the next write answers, in order, before the above
  uint64_t seed = 1;

  // {"fail_status":{"503":0.2},"apply_then_fail":0.1,"drop":0.05,"latency_ms":20,
  //  "hidden_rate_limit":{"requests":10,"per_ms":1000},"seed":7,
  //  "script":[{"status":500,"headers":{"Retry-After":"1"},"body":"..","apply_first":false}]}
  // Every key is optional; unknown keys are refused.
  static FaultSpec FromJson(const nlohmann::json& j);  // throws on a malformed spec
  nlohmann::json ToJson() const;
};

class Sandbox;

// One emulated API. Handlers keep their own stores behind their own mutex.
class Emulator {
 public:
  virtual ~Emulator() = default;
  virtual std::string name() const = 0;  // "hubspot" | "salesforce" | "braze"
  // Adds the API's routes; every write route goes through sandbox.Wrap(...).
  virtual void Register(httplib::Server& server, Sandbox& sandbox) = 0;
  virtual nlohmann::json Records() const = 0;
  virtual void Reset() = 0;
  // The API's own answer when the (hidden) rate limit is hit: status, headers, body.
  virtual void WriteRateLimited(httplib::Response& res) const = 0;
  // Options from the sandbox's JSON config under the emulator's name (credentials,
  // limits such as HubSpot's 100/10s, Salesforce's daily budget). Called before Register.
  virtual void Configure(const nlohmann::json& options) {}
};

struct SandboxOptions {
  std::string host = "127.0.0.1";
  int port = 0;             // 0: an ephemeral port
  uint64_t seed = 1;
  int threads = 16;         // server worker threads
  nlohmann::json emulator_options = nlohmann::json::object();  // {"hubspot": {...}, ...}
  // Time for the hidden rate limit, latency and the request log; nullptr: the real
  // clock. A ManualClock lets tests move a rolling window without sleeping.
  backflow::Clock* clock = nullptr;
};

class Sandbox {
 public:
  // Requests one keep-alive connection serves before the server closes it.
  static constexpr size_t kKeepAliveRequests = 100000;

  explicit Sandbox(SandboxOptions options);
  ~Sandbox();

  // Adds an emulator (before Start). The sandbox owns it.
  void Add(std::unique_ptr<Emulator> emulator);
  // Adds every emulator backflow ships (src/sandbox/emulators.cc).
  void AddAll();
  // Binds and serves on a background thread; returns the port.
  Result<int> Start();
  void Stop();
  std::string base_url() const;  // "http://127.0.0.1:PORT"
  int port() const { return port_; }

  // For emulators: wraps a route handler with the request log, counters, latency, the
  // hidden rate limit, scripted answers and random faults. `write` marks requests that
  // change state (they count as writes; faults apply only to them).
  httplib::Server::Handler Wrap(const std::string& emulator, bool write,
                                httplib::Server::Handler handler);

  // Test access (thread-safe).
  void SetFaults(const std::string& emulator, FaultSpec spec);
  nlohmann::json RequestLog(const std::string& emulator) const;
  long long WriteRequests(const std::string& emulator) const;
  long long Requests(const std::string& emulator, int status = -1) const;
  // {"requests":N,"writes":N,"status":{"200":N,...}} (what /_admin/{emulator}/counters serves).
  nlohmann::json Counters(const std::string& emulator) const;
  Emulator* Find(const std::string& name) const;
  void Reset();

 private:
  struct State;
  void RegisterAdmin();  // admin.cc

  SandboxOptions options_;
  std::unique_ptr<State> state_;
  std::vector<std::unique_ptr<Emulator>> emulators_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace backflow::sandbox
