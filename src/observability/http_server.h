// The daemon's HTTP endpoint (observability.http_listen), on cpp-httplib, on its own thread:
//   GET /metrics   Prometheus text (text/plain; version=0.0.4)
//   GET /healthz   200 {"status":"ok"} while `healthy()` returns true, else 503
//   GET /api/runs  JSON from `runs_json()` (DashboardJson of recent runs)
//   GET /          the dashboard HTML from `dashboard_html()`
// The callbacks run on the server's threads, so they must be thread-safe; one that throws
// or is unset answers 500 (healthz: 503). Answers never carry secrets.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "backflow/status.h"

namespace httplib {
class Server;
}

namespace backflow {

struct HttpHandlers {
  std::function<std::string()> metrics;         // exposition text
  std::function<bool()> healthy;                // scheduler loop alive + warehouse reachable
  std::function<nlohmann::json()> runs_json;
  std::function<std::string()> dashboard_html;
};

class HttpEndpoint {
 public:
  explicit HttpEndpoint(HttpHandlers handlers);
  ~HttpEndpoint();  // Stop()s
  HttpEndpoint(const HttpEndpoint&) = delete;
  HttpEndpoint& operator=(const HttpEndpoint&) = delete;

  // Binds "host:port" ("127.0.0.1:9464"; port 0 picks a free one, see port()) and serves
  // on a new thread. InvalidConfig for a malformed address, Unavailable when the port
  // cannot be bound. REQUIRES: not running.
  [[nodiscard]] Status Start(const std::string& listen);
  // Stops serving and joins the thread. Idempotent.
  void Stop();
  // The bound port (after a successful Start).
  int port() const { return port_; }

 private:
  void Install();
  HttpHandlers handlers_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

// Splits "host:port" ("[::1]:9464" for IPv6). False when malformed.
bool ParseListenAddress(const std::string& listen, std::string* host, int* port);

}  // namespace backflow
